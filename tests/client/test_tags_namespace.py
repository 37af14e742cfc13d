"""Tags (mutable, shared by every reader) and namespaces (all runs unless one is set)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import flowkit
from flowkit import Flow, Run
from flowkit.errors import NamespaceMismatch, TagError

MakeRun = Callable[..., str]


def test_add_remove_replace_tags_are_stored(make_run: MakeRun) -> None:
    run_id = make_run(tags=["given"])
    run = Run(f"TagFlow/{run_id}")
    run.add_tag("prod")
    run.add_tags(["a", "b"])
    assert run.user_tags == {"given", "prod", "a", "b"}
    run.remove_tag("a")
    run.remove_tags(["b", "never-had-it"])
    run.replace_tag("given", "reviewed")
    assert run.user_tags == {"prod", "reviewed"}
    run.replace_tags(["prod"], ["staging", "x"])
    assert run.tags == {"reviewed", "staging", "x", "user:ada"}
    # Another reader (a new object, another process) sees the same tags.
    assert Run(f"TagFlow/{run_id}").tags == run.tags


def test_system_tags_cannot_change(make_run: MakeRun) -> None:
    run = Run(f"TagFlow/{make_run()}")
    for change in (lambda: run.add_tag("user:bob"), lambda: run.remove_tag("user:ada")):
        with pytest.raises(TagError) as info:
            change()
        assert "is a system tag" in info.value.format_message()
    assert run.system_tags == {"user:ada"}


def test_invalid_tags(make_run: MakeRun) -> None:
    run = Run(f"TagFlow/{make_run()}")
    with pytest.raises(TagError, match="not a valid tag"):
        run.add_tag("")
    with pytest.raises(TagError, match="control character"):
        run.add_tag("a\tb")


def test_runs_filtered_by_tags(make_run: MakeRun) -> None:
    first = make_run(tags=["prod"])
    second = make_run()
    third = make_run(tags=["prod", "gpu"])
    Run(f"TagFlow/{second}").add_tag("prod")
    Run(f"TagFlow/{third}").remove_tag("prod")
    flow = Flow("TagFlow")
    assert [r.id for r in flow.runs("prod")] == [second, first]
    assert [r.id for r in flow.runs("gpu")] == [third]
    assert [r.id for r in flow.runs("gpu", "prod")] == []
    assert [r.id for r in flow.runs()] == [third, second, first]
    assert [r.id for r in flow.runs("user:ada")] == [third, second, first]


def test_everyone_is_visible_by_default(make_run: MakeRun) -> None:
    make_run(user="ada")
    make_run(user="bob")
    assert flowkit.get_namespace() is None
    assert [r.user for r in Flow("TagFlow")] == ["bob", "ada"]


def test_a_namespace_restricts_what_is_visible(make_run: MakeRun) -> None:
    ada_run = make_run(user="ada")
    bob_run = make_run(user="bob")
    assert flowkit.namespace("user:ada") == "user:ada"
    assert flowkit.get_namespace() == "user:ada"
    flow = Flow("TagFlow")
    assert [r.id for r in flow] == [ada_run]
    assert flow.latest_run.id == ada_run
    assert flow.latest_successful_run.id == ada_run
    assert bob_run not in flow and ada_run in flow
    assert Run(f"TagFlow/{ada_run}").user == "ada"
    with pytest.raises(NamespaceMismatch):
        Run(f"TagFlow/{bob_run}")
    with pytest.raises(NamespaceMismatch):
        flow[bob_run]
    # Any tag is a namespace.
    flowkit.namespace(None)
    Run(f"TagFlow/{bob_run}").add_tag("team")
    flowkit.namespace("team")
    assert [r.id for r in Flow("TagFlow")] == [bob_run]
    html = Flow("TagFlow")._repr_html_()
    assert "team, user:bob" in html and "user:ada" not in html
    assert flowkit.default_namespace() is None
    assert [r.id for r in Flow("TagFlow")] == [bob_run, ada_run]


def test_nothing_in_the_namespace(make_run: MakeRun) -> None:
    make_run(user="ada")
    flowkit.namespace("user:nobody")
    assert Flow("TagFlow").latest_run is None
    assert list(Flow("TagFlow")) == []
