"""The run's catalog choice travels with the run: recorded (profile, file bytes, base folder),
read by tasks from the record, kept by resume unless overridden, refused when it holds a
password."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from flowtests import FlowRunner, end_artifact
from profileproject import GREETING_CATALOG, write_project

from flowkit.catalog.errors import CatalogFileError
from flowkit.catalog.travel import recorded_config
from flowkit.datastore.manifest import CatalogChoice, RunRecord
from flowkit.settings import load_settings

FLOW = """
import os
from flowkit import FlowSpec, step


class ProfileFlow(FlowSpec):
    @step
    def start(self):
        self.first = self.catalog.load("greeting")
        self.next(self.end)

    @step
    def end(self):
        self.second = self.catalog.load("greeting")
        self.profile = self.catalog.profile
        if os.environ.get("PROFILE_FAIL_END"):
            raise RuntimeError("end fails on purpose")
        print(f"end read {self.second!r} in profile {self.profile}")


if __name__ == "__main__":
    ProfileFlow()
"""

CATALOG = GREETING_CATALOG


def _project(tmp_path: Path, catalog: str | None = CATALOG) -> tuple[Path, FlowRunner]:
    work = write_project(tmp_path / "work", FLOW, catalog).parent
    runner = FlowRunner(tmp_path / "datastore", work)
    runner.env = {k: v for k, v in runner.env.items() if not k.startswith("FLOWKIT_PROFILE")}
    runner.env = {k: v for k, v in runner.env.items() if not k.startswith("FLOWKIT_CATALOG")}
    return work, runner


def test_run_records_profile_catalog_bytes_and_base(tmp_path):
    work, run = _project(tmp_path)
    done = run(work / "flow.py", "run", "--profile", "x", "--launcher", "spawn")
    assert done.returncode == 0, done.output
    store = run.store("ProfileFlow")
    record = store.run_record("1")
    assert record.catalog is not None
    assert record.catalog.profile == "x"
    assert record.catalog.path == str(work / "catalog.toml")
    assert record.catalog.base == str(work)
    assert (record.catalog.profile_from, record.catalog.catalog_from) == ("run", "run")
    assert bytes(store.content.get(record.catalog.sha)) == (work / "catalog.toml").read_bytes()
    assert end_artifact(store, "1", "first") == "x data"
    assert end_artifact(store, "1", "second") == "x data"


def test_a_run_without_catalog_records_none_and_old_records_load(tmp_path):
    work, run = _project(tmp_path, catalog=None)
    done = run(work / "flow.py", "run")
    assert done.returncode != 0  # the flow loads a dataset: there is no catalog
    store = run.store("ProfileFlow")
    assert store.run_record("1").catalog is None
    raw = json.loads((run.root / "ProfileFlow" / "runs" / "1" / "run.json").read_bytes())
    assert "catalog" not in raw  # the record is what it was before the field existed
    old = RunRecord("F", "1", 1.0, "me").to_json()
    assert RunRecord.from_json(old).catalog is None
    choice = CatalogChoice("x", "/a/catalog.toml", "ab" * 32, "/a", "origin", "run")
    again = RunRecord.from_json(RunRecord("F", "1", 1.0, "me", catalog=choice).to_json())
    assert again.catalog == choice


def test_tasks_read_the_recorded_catalog_not_the_file_on_disk(tmp_path):
    work, run = _project(tmp_path)
    failed = run(work / "flow.py", "run", "--profile", "x", PROFILE_FAIL_END="1")
    assert failed.returncode != 0
    # the file on disk changes after the run: the resumed run keeps what the run recorded
    (work / "catalog.toml").write_text(CATALOG.replace("data/x.txt", "data/y.txt"))
    resumed = run(work / "flow.py", "resume")
    assert resumed.returncode == 0, resumed.output
    assert "end read 'x data' in profile x" in resumed.stdout
    store = run.store("ProfileFlow")
    record = store.run_record("2")
    assert record.catalog is not None and record.catalog.profile == "x"
    assert (record.catalog.profile_from, record.catalog.catalog_from) == ("origin", "origin")
    assert record.catalog.sha == store.run_record("1").catalog.sha  # type: ignore[union-attr]


def test_profile_and_catalog_given_on_resume_win(tmp_path):
    work, run = _project(tmp_path)
    failed = run(work / "flow.py", "run", "--profile", "x", PROFILE_FAIL_END="1")
    assert failed.returncode != 0
    resumed = run(work / "flow.py", "resume", "--profile", "y")
    assert resumed.returncode == 0, resumed.output
    assert "end read 'y data' in profile y" in resumed.stdout
    store = run.store("ProfileFlow")
    record = store.run_record("2")
    assert record.catalog is not None and record.catalog.profile == "y"
    assert (record.catalog.profile_from, record.catalog.catalog_from) == ("run", "origin")

    other = work / "other.toml"
    other.write_text('[datasets.greeting]\ntype = "text"\nlocation = "data/y.txt"\n')
    failed = run(work / "flow.py", "run", "--profile", "x", PROFILE_FAIL_END="1")
    assert failed.returncode != 0
    resumed = run(work / "flow.py", "resume", "--catalog", str(other))
    # the origin's profile x is kept, and other.toml has no profile x: refused before it starts
    assert resumed.returncode != 0
    assert "no profile 'x'" in resumed.output
    resumed = run(work / "flow.py", "resume", "--catalog", str(other), "--profile", "default")
    assert resumed.returncode == 0, resumed.output
    assert "end read 'y data' in profile default" in resumed.stdout
    record = store.run_record("4")  # the refused resume recorded no run
    assert record.catalog is not None and record.catalog.path == str(other)
    assert (record.catalog.profile_from, record.catalog.catalog_from) == ("run", "run")


def test_a_password_in_any_location_refuses_the_run(tmp_path):
    secret = "hunter2-7f3a"
    catalog = CATALOG + textwrap.dedent(f"""
        [profiles.prod.datasets.warehouse]
        type = "sql_table"
        location = "postgresql://app:{secret}@db.internal:5432/shop"
        table = "orders"
        """)
    work, run = _project(tmp_path, catalog)
    done = run(work / "flow.py", "run")  # refused even when profile prod is not the one used
    assert done.returncode != 0
    assert "dataset 'warehouse' (profile 'prod')" in done.output
    assert "name a credential" in done.output
    assert secret not in done.output
    assert not (run.root / "ProfileFlow" / "runs").exists()  # nothing of it was recorded


def test_catalog_base_setting_overrides_the_recorded_folder(tmp_path, monkeypatch):
    work, run = _project(tmp_path)
    assert run(work / "flow.py", "run", "--profile", "y").returncode == 0
    store = run.store("ProfileFlow")
    choice = store.run_record("1").catalog
    assert choice is not None
    monkeypatch.delenv("FLOWKIT_CATALOG_BASE", raising=False)
    recorded = recorded_config(store, choice, load_settings())
    assert recorded.resolve("greeting").location == str(work / "data" / "y.txt")
    monkeypatch.setenv("FLOWKIT_CATALOG_BASE", str(tmp_path / "elsewhere"))
    moved = recorded_config(store, choice, load_settings())
    assert moved.resolve("greeting").location == str(tmp_path / "elsewhere" / "data" / "y.txt")
    assert moved.profile == "y"


def test_a_recorded_blob_that_is_not_a_catalog_is_a_catalog_error(tmp_path):
    work, run = _project(tmp_path)
    store = run.store("ProfileFlow")
    sha = store.content.put([b"not = [toml"])
    choice = CatalogChoice(None, str(work / "catalog.toml"), sha, str(work))
    with pytest.raises(CatalogFileError, match="not valid TOML"):
        recorded_config(store, choice, load_settings())


def test_client_and_show_give_the_runs_catalog(tmp_path, monkeypatch):
    work, run = _project(tmp_path)
    failed = run(work / "flow.py", "run", "--profile", "x", PROFILE_FAIL_END="1")
    assert failed.returncode != 0
    assert run(work / "flow.py", "resume").returncode == 0
    monkeypatch.setenv("FLOWKIT_DATASTORE_ROOT", str(run.root))
    from flowkit.client import Run, namespace

    namespace(None)
    first, resumed = Run("ProfileFlow/1"), Run("ProfileFlow/2")
    assert first.catalog is not None and resumed.catalog is not None
    assert (first.catalog.profile, first.catalog.profile_from) == ("x", "run")
    assert first.catalog.text == CATALOG
    assert first.catalog.path == str(work / "catalog.toml")
    assert (resumed.catalog.profile_from, resumed.catalog.catalog_from) == ("origin", "origin")
    assert resumed.to_dict()["catalog"]["profile"] == "x"
    cli = ("-c", "from flowkit.cli.main import main; main()")
    shown = run(*cli, "show", "ProfileFlow/1")
    assert shown.returncode == 0, shown.output
    [line] = [line for line in shown.stdout.splitlines() if line.strip().startswith("profile ")]
    assert line.split(None, 1)[1] == f"x (catalog {work / 'catalog.toml'})"
    shown = run(*cli, "show", "ProfileFlow/2")
    assert "x (catalog" in shown.stdout
    assert "profile and catalog kept from the resumed run" in shown.stdout
