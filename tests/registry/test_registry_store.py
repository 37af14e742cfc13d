"""The registry's rules on a local datastore: numbering, references, aliases moved by
compare-and-swap, rollback as a new move, tags as events, and the errors users see."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowkit.datastore import ByteStorage, FlowDatastore, FormatTooNew
from flowkit.errors import FlowkitError
from flowkit.modelreg import (
    AliasConflict,
    InvalidRegistryName,
    ModelNotFound,
    ModelVersion,
    Registry,
    RegistryError,
    RegistryEvent,
    VersionNotFound,
)
from flowkit.modelreg.records import PREFIX


def _draft(storage: ByteStorage, value: object, name: str = "churn", kind: str = "model"):
    sha = FlowDatastore(storage, "TrainFlow").save_artifact(value).sha
    return ModelVersion(
        name=name,
        number=0,
        kind=kind,  # type: ignore[arg-type]
        sha=sha,
        type=type(value).__name__,
        size=1,
        flow="TrainFlow",
        pathspec="TrainFlow/1/train/2",
        artifact="model",
        user="ada",
        created_at=1.7e9,
        tags={"team": "ml"},
    )


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    storage = ByteStorage(str(tmp_path / "store"))
    reg = Registry(storage, user="ada")
    for value in ({"w": 1}, {"w": 2}, {"w": 3}):
        reg.add_version(_draft(storage, value))
    return reg


def test_versions_are_numbered_and_resolved_by_reference(registry: Registry) -> None:
    assert [v.label for v in registry.versions("churn")] == ["v1", "v2", "v3"]
    assert registry.resolve("churn").number == 3
    assert registry.resolve("churn@latest").number == 3
    assert registry.resolve("churn@v2").number == 2
    assert registry.load(registry.resolve("churn@v1")) == {"w": 1}
    assert registry.names() == ["churn"]
    assert registry.names("dataset") == []


def test_promote_with_expect_is_a_compare_and_swap(registry: Registry) -> None:
    first = registry.promote("churn", 1, "champion", expect=None)
    assert (first.seq, first.previous, first.version) == (1, None, 1)
    registry.promote("churn", 2, "champion", expect=1)
    with pytest.raises(AliasConflict) as lost:
        registry.promote("churn", 3, "champion", expect=1)
    assert lost.value.current == 2
    assert "points to v2, not v1" in str(lost.value)
    assert lost.value.exit_code != 0
    assert registry.resolve("churn@champion").number == 2
    assert len(registry.history("churn", "champion")) == 2  # the refused move left no trace


def test_rollback_is_a_new_move_and_history_keeps_everything(registry: Registry) -> None:
    registry.promote("churn", 1, "champion")
    registry.promote("churn", 3, "champion")
    registry.promote("churn", 2, "staging")
    back = registry.rollback("churn", "champion")
    assert (back.reason, back.previous, back.version) == ("rollback", 3, 1)
    moves = registry.history("churn", "champion")
    assert [(m.previous, m.version, m.reason) for m in moves] == [
        (None, 1, "promote"),
        (1, 3, "promote"),
        (3, 1, "rollback"),
    ]
    assert registry.aliases("churn") == {"champion": 1, "staging": 2}
    registry.rollback("churn", "champion", to=2)
    assert registry.resolve("churn@champion").number == 2
    assert [m.seq for m in registry.history("churn")] == [1, 2, 3, 4, 5]


def test_rollback_needs_an_earlier_version(registry: Registry) -> None:
    with pytest.raises(VersionNotFound, match="never been set"):
        registry.rollback("churn", "champion")
    registry.promote("churn", 1, "champion")
    with pytest.raises(VersionNotFound, match="no version before v1"):
        registry.rollback("churn", "champion")


def test_tags_change_by_events_the_version_stays_as_registered(registry: Registry) -> None:
    registry.tag("churn", 2, set_tags={"stage": "prod"}, unset=["team"])
    v2 = registry.version("churn", 2)
    assert v2.tags == {"team": "ml"}
    assert registry.tags(v2) == {"stage": "prod"}
    assert registry.tags(registry.version("churn", 1)) == {"team": "ml"}


def test_the_registry_is_stored_beside_the_flows(registry: Registry) -> None:
    storage = registry.storage
    assert storage.list(f"{PREFIX}/churn") == ["versions"]
    registry.promote("churn", 1, "champion")
    assert storage.list(f"{PREFIX}/churn/log") == ["0000000001.json"]
    # a fresh reader (another process, another machine) sees the same state
    again = Registry(ByteStorage(storage.root))
    assert again.resolve("churn@champion").sha == registry.version("churn", 1).sha


def test_unknown_names_suggest_the_closest(registry: Registry) -> None:
    with pytest.raises(ModelNotFound) as missing:
        registry.resolve("chrun@champion")
    assert 'Did you mean "churn"?' in str(missing.value)
    assert isinstance(missing.value, KeyError)
    registry.promote("churn", 1, "champion")
    with pytest.raises(VersionNotFound) as alias:
        registry.resolve("churn@champoin")
    assert 'Did you mean "champion"?' in str(alias.value)
    assert "champion (v1)" in str(alias.value)
    with pytest.raises(VersionNotFound, match="has no version v9; it has v1 to v3"):
        registry.resolve("churn@v9")
    with pytest.raises(VersionNotFound):
        registry.promote("churn", 9, "champion")


@pytest.mark.parametrize("alias", ["latest", "v2", "Bad Alias", ""])
def test_aliases_that_cannot_move(registry: Registry, alias: str) -> None:
    with pytest.raises(InvalidRegistryName):
        registry.promote("churn", 1, alias)


@pytest.mark.parametrize("name", ["", "a/b", "x@y", "-lead", "a b"])
def test_names_that_cannot_be_registered(registry: Registry, name: str) -> None:
    with pytest.raises(InvalidRegistryName):
        registry.add_version(_draft(registry.storage, 1, name=name))


def test_a_name_keeps_its_kind(registry: Registry) -> None:
    with pytest.raises(RegistryError, match="registered as a model"):
        registry.add_version(_draft(registry.storage, [1], kind="dataset"))
    registry.add_version(_draft(registry.storage, [1, 2], name="orders", kind="dataset"))
    assert registry.names("dataset") == ["orders"]
    with pytest.raises(RegistryError, match="registered as a dataset"):
        registry.resolve("orders", "model")
    assert registry.resolve("orders@v1", "dataset").kind == "dataset"


def test_a_value_not_in_the_datastore_cannot_be_registered(registry: Registry) -> None:
    from dataclasses import replace

    draft = replace(_draft(registry.storage, 5), sha="0" * 64)
    with pytest.raises(FlowkitError, match="is not stored in the datastore"):
        registry.add_version(draft)


GOLDEN = Path(__file__).parent / "golden"


def test_records_of_format_1_0_stay_readable() -> None:
    # Committed samples: a later flowkit must keep reading what this one wrote.
    version = ModelVersion.from_json((GOLDEN / "version-1.0.json").read_bytes(), "sample")
    assert (version.ref, version.pathspec, version.artifact) == (
        "churn@v3",
        "TrainFlow/12/train/3",
        "model",
    )
    assert (version.run_pathspec, version.step, version.task_id) == ("TrainFlow/12", "train", "3")
    assert version.code_sha == "b" * 64 and version.sha == "a" * 64
    assert version.inputs[0]["artifacts"] == {"data": "c" * 64}
    assert version.datasets[0]["dataset"] == "orders" and version.metrics == {"auc": 0.91}
    event = RegistryEvent.from_json((GOLDEN / "event-1.0.json").read_bytes(), "sample")
    assert (event.seq, event.alias, event.previous, event.version) == (7, "champion", 2, 3)


def test_a_record_of_a_newer_major_format_is_refused() -> None:
    raw = (GOLDEN / "event-1.0.json").read_bytes().replace(b'"format":"1.0"', b'"format":"2.0"')
    with pytest.raises(FormatTooNew, match=r"registry format 2\.0"):
        RegistryEvent.from_json(raw, "sample")
