"""The environment record: what it holds, stored once per environment, remembered across runs."""

from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path

import pytest

from flowkit.datastore import ByteStorage, FlowDatastore, RunRecord
from flowkit.datastore import environment as env_module
from flowkit.datastore.environment import (
    RunEnvironment,
    current_environment,
    environment_fingerprint,
    installed_distributions,
)
from flowkit.datastore.verify import verify_flow
from flowkit.errors import CorruptObject


@pytest.fixture
def store(tmp_path: Path) -> FlowDatastore:
    return FlowDatastore(ByteStorage(str(tmp_path / "ds")), "EnvFlow")


@pytest.fixture(autouse=True)
def forget_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts without what earlier tests remembered in this process."""
    monkeypatch.setattr(env_module, "_SEEN", {})
    monkeypatch.setattr(env_module, "_RECORDED", set())


def _fake_distribution(folder: Path, name: str, version: str) -> None:
    info = folder / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\nName: not-a-header\n"
    )


def test_it_describes_this_interpreter_and_what_is_installed() -> None:
    env = current_environment()
    assert env.python == platform.python_version()
    assert env.implementation == platform.python_implementation()
    assert (env.system, env.machine) == (platform.system(), platform.machine())
    assert env.packages["pytest"] == pytest.__version__
    assert env.packages["click"]


def test_the_first_distribution_on_sys_path_wins_and_only_headers_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_distribution(tmp_path / "first", "demo-pkg", "2.0")
    _fake_distribution(tmp_path / "second", "demo-pkg", "1.0")
    monkeypatch.setattr(sys, "path", [str(tmp_path / "first"), str(tmp_path / "second")])
    assert installed_distributions() == {"demo-pkg": "2.0"}


def test_equal_environments_are_equal_bytes_and_round_trip() -> None:
    a = RunEnvironment("3.11.7", "CPython", "Linux-x", "Linux", "x86_64", {"b": "1", "a": "2"})
    b = RunEnvironment("3.11.7", "CPython", "Linux-x", "Linux", "x86_64", {"a": "2", "b": "1"})
    assert a.to_json() == b.to_json()
    assert json.loads(a.to_json())["format_version"] == "1.0"
    assert RunEnvironment.from_json(a.to_json()) == a
    assert list(a.to_dict()["packages"]) == ["a", "b"]


@pytest.mark.parametrize(
    "data", [b"garbage", b"[]", b'{"python": 3}', b'{"packages": {"a": 1}}', b'{"packages": []}']
)
def test_a_damaged_environment_record_is_refused(data: bytes) -> None:
    with pytest.raises(CorruptObject, match="environment record"):
        RunEnvironment.from_json(data)


def test_runs_from_one_environment_share_one_blob(store: FlowDatastore) -> None:
    first = store.record_environment()
    assert store.record_environment() == first
    assert store.content.exists(first)
    assert store.storage.list("EnvFlow/data") == [first[:2]]
    assert store.storage.list(f"EnvFlow/data/{first[:2]}") == [first]
    assert store.read_environment(first) == current_environment()


def test_a_new_process_reuses_the_memo_without_reading_distributions(
    store: FlowDatastore, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = store.record_environment()
    # A new process: nothing remembered in memory, only the memo in the datastore.
    monkeypatch.setattr(env_module, "_SEEN", {})
    monkeypatch.setattr(env_module, "_RECORDED", set())

    def not_again() -> RunEnvironment:
        raise AssertionError("the distributions were read again")

    monkeypatch.setattr(env_module, "current_environment", not_again)
    assert store.record_environment() == first


def test_a_memo_naming_a_missing_blob_is_not_trusted(store: FlowDatastore) -> None:
    first = store.record_environment()
    store.storage.delete(store.content.key(first))
    env_module._SEEN.clear()
    env_module._RECORDED.clear()
    assert store.record_environment() == first
    assert store.content.exists(first)


def test_installing_a_distribution_changes_the_record(
    store: FlowDatastore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    _fake_distribution(site, "demo-pkg", "1.0")
    monkeypatch.setattr(sys, "path", [str(site), *sys.path])
    before_print = environment_fingerprint()
    before = store.record_environment()
    assert store.read_environment(before).packages["demo-pkg"] == "1.0"
    # An upgrade replaces the .dist-info folder, which changes the folder's time.
    (site / "demo-pkg-1.0.dist-info" / "METADATA").unlink()
    (site / "demo-pkg-1.0.dist-info").rmdir()
    _fake_distribution(site, "demo-pkg", "1.1")
    _touch_later(site)
    assert environment_fingerprint() != before_print
    after = store.record_environment()
    assert after != before
    assert store.read_environment(after).packages["demo-pkg"] == "1.1"


def _touch_later(folder: Path) -> None:
    # Filesystems with coarse timestamps could give both states the same time.
    stat = folder.stat()
    os.utime(folder, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_verify_checks_the_environment_blob_and_the_complete_end_record(
    store: FlowDatastore,
) -> None:
    sha = store.record_environment()
    run_id = store.new_run(
        RunRecord(flow="EnvFlow", run_id="", created_at=1.7e9, user="ada", environment_sha=sha)
    )
    store.finish_run(run_id, "succeeded")
    assert verify_flow(store).problems == []
    blob = store.content.key(sha)
    store.storage.write(blob, b"not what it was")
    end_key = f"EnvFlow/runs/{run_id}/end.json"
    raw = json.loads(store.storage.read(end_key))
    store.storage.write(end_key, json.dumps({**raw, "user": 3}).encode())
    found = {p.kind: p for p in verify_flow(store).problems}
    assert set(found) == {"environment record", "end record"}
    assert found["environment record"].url == store.storage.url(blob)
    assert "user must be a string" in found["end record"].reason
