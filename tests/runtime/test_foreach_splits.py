"""Each foreach split gets exactly the element its parent assigned, and loads only that.

The parent fixes the order once (a set's iteration order depends on the interpreter's hash
seed), so these run children in fresh interpreters (``--launcher spawn``) and resumed runs,
where re-iterating the collection would pick other elements.
"""

from __future__ import annotations

import os
from collections import Counter

import pytest
from flowtests import FLOWS, end_artifact

SET_ITEMS = FLOWS / "foreach" / "set_items.py"
CHARS = FLOWS / "foreach" / "chars.py"
PROBES = FLOWS / "foreach" / "probes.py"
WIDE_JOIN = FLOWS / "foreach" / "wide_join.py"
ALL_ITEMS = {f"item{i}" for i in range(40)}


@pytest.fixture
def run_flow(run_flow):
    # Each interpreter must draw its own hash seed, as it does for users.
    run_flow.env.pop("PYTHONHASHSEED", None)
    return run_flow


def _assert_each_split_got_its_element(store, run_id: str) -> None:
    got = end_artifact(store, run_id, "got")
    order = end_artifact(store, run_id, "order")
    assert sorted(index for index, _ in got) == list(range(40))
    assert Counter(item for _, item in got) == Counter(ALL_ITEMS)  # every element exactly once
    assert all(order[index] == item for index, item in got)  # ... where the parent put it


def test_set_foreach_in_fresh_interpreters_gives_every_element_once(run_flow):
    result = run_flow(SET_ITEMS, "run", "--launcher", "spawn", "--max-workers", "4")
    assert result.returncode == 0, result.output
    _assert_each_split_got_its_element(run_flow.store("SetItemsFlow"), "1")


def test_resumed_set_foreach_gives_the_rerun_split_its_own_element(run_flow):
    failed = run_flow(SET_ITEMS, "run", FLOWKIT_TEST_FAIL_ITEM="item7")
    assert failed.returncode == 1, failed.output
    assert "planned failure on item7" in failed.stderr
    resumed = run_flow(SET_ITEMS, "resume")  # a new interpreter: another set order
    assert resumed.returncode == 0, resumed.output
    store = run_flow.store("SetItemsFlow")
    _assert_each_split_got_its_element(store, "2")
    reran = [m for m in store.manifests("2") if m.step == "work" and not m.origin_pathspec]
    # the failed split (and any the failure kept from starting) ran again; the rest are clones
    assert "item7" in {store.load_artifact(m.artifacts["got"])[1] for m in reran}
    assert 1 <= len(reran) < 40


def test_str_foreach_fans_out_over_its_characters(run_flow):
    result = run_flow(CHARS, "run", "--launcher", "spawn")
    assert result.returncode == 0, result.output
    assert end_artifact(run_flow.store("CharsFlow"), "1", "spelled") == "FLOWKIT"


@pytest.mark.parametrize("launcher", ["fork", "spawn"])
def test_a_split_loads_only_its_own_element(run_flow, tmp_path, launcher):
    trace = tmp_path / "unpickled"
    trace.mkdir()
    result = run_flow(PROBES, "run", "--launcher", launcher, FLOWKIT_TEST_TRACE=str(trace))
    assert result.returncode == 0, result.output
    store = run_flow.store("ProbesFlow")
    assert end_artifact(store, "1", "numbers") == list(range(12))
    loads = {int(p.name): p.read_text().split() for p in trace.iterdir()}
    for pid in end_artifact(store, "1", "pids"):
        assert len(loads.pop(pid)) == 1, "a split unpickled more than its own element"
    assert not loads, f"other processes unpickled elements: {loads}"


@pytest.mark.slow
def test_wide_join_in_fresh_interpreter_keeps_its_command_line_short(run_flow):
    width = 1000
    failed = run_flow(WIDE_JOIN, "run", "--width", str(width), FLOWKIT_TEST_FAIL_JOIN="1")
    assert failed.returncode == 1, failed.output
    # Only the join re-runs, in a fresh interpreter, with all splits as its parents.
    resumed = run_flow(WIDE_JOIN, "resume", "--launcher", "spawn")
    assert resumed.returncode == 0, resumed.output
    store = run_flow.store("WideJoinFlow")
    assert end_artifact(store, "2", "total") == sum(range(width))
    # A --parent per split would take ~20 characters each: the list is passed as one blob.
    assert end_artifact(store, "2", "argv_chars") < 2000
    [join] = [m for m in store.manifests("2") if m.step == "join"]
    assert len(join.parents) == width
    assert os.path.basename(join.parents[0]).isdigit()
