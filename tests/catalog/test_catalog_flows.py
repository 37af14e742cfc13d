"""Flows using the catalog, run as users run them: lineage in the records and the client,
snapshots read back on resume, SQLite, and errors naming the dataset and the profile."""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3

import pandas as pd
from catalogtests import CLI, episode

from flowkit.datastore.manifest import TaskManifest


def test_lineage_is_recorded_shown_and_read_by_the_client(tmp_path, monkeypatch):
    work, run = episode(tmp_path)
    done = run(work / "lineage_flow.py", "run")
    assert done.returncode == 0, done.output
    assert "snap_total 20.0 profile default" in done.stdout
    monkeypatch.setenv("FLOWKIT_DATASTORE_ROOT", str(run.root))
    from flowkit.client import Flow, namespace

    namespace(None)
    flow_run = Flow("LineageFlow").latest_run
    start = flow_run["start"].task.lineage
    csv_bytes = (work / "data" / "orders.csv").read_bytes()
    assert [(r["dataset"], r["mode"], r["type"], r["profile"]) for r in start] == [
        ("orders", "load", "csv", "default"),
        ("scored_orders", "save", "parquet", "default"),
    ]
    assert start[0]["content_hash"] == hashlib.sha256(csv_bytes).hexdigest()
    assert start[0]["rows"] == 3 and start[0]["snapshot"] is None
    assert start[0]["location"] == str(work / "data" / "orders.csv")
    assert start[1]["location"] == str(work / "out" / "scored" / "data.parquet")
    saved = (work / "out" / "scored" / "data.parquet").read_bytes()
    assert start[1]["content_hash"] == hashlib.sha256(saved).hexdigest()
    keys = {"dataset", "type", "location", "profile", "content_hash", "rows", "schema_hash"}
    assert keys | {"snapshot", "mode"} <= set(start[0])
    end = flow_run["end"].task.lineage
    assert end[0]["snapshot"] == end[0]["content_hash"]  # a file's snapshot is its bytes
    assert [r["task"] for r in flow_run.lineage] == [
        f"LineageFlow/{flow_run.id}/start/1",
        f"LineageFlow/{flow_run.id}/start/1",
        f"LineageFlow/{flow_run.id}/end/2",
    ]
    shown = run(CLI[0], CLI[1], "show", flow_run.pathspec, FLOWKIT_DATASTORE_ROOT=str(run.root))
    assert shown.returncode == 0, shown.output
    assert "Data lineage:" in shown.stdout and "scored_orders  save  default" in shown.stdout
    task_shown = run(CLI[0], CLI[1], "show", f"{flow_run.pathspec}/end/2")
    assert "orders   load  default  csv" in task_shown.stdout


def test_manifests_without_lineage_read_as_empty_and_stay_byte_identical():
    manifest = TaskManifest("F", "1", "start", "1", 0, "succeeded", 1.0, 2.0)
    raw = json.loads(manifest.to_json())
    assert "lineage" not in raw  # a task without catalog use writes what it always wrote
    assert TaskManifest.from_json(manifest.to_json()).lineage == []


def test_resume_reads_the_snapshot_of_the_failed_attempt(tmp_path):
    work, run = episode(tmp_path)
    failed = run(work / "lineage_flow.py", "run", LINEAGE_FAIL_END="1")
    assert failed.returncode != 0 and "end fails on purpose" in failed.output
    # the data changes after the failure; the resumed end step must see what the failure saw
    (work / "data" / "orders.csv").write_text("order_id,amount\n1,1000.0\n")
    resumed = run(work / "lineage_flow.py", "resume")
    assert resumed.returncode == 0, resumed.output
    assert "snap_total 20.0 profile default" in resumed.stdout
    store = run.store("LineageFlow")
    first = store.read_manifest("1", "end", store.tasks("1", "end")[0])
    again = store.read_manifest("2", "end", store.tasks("2", "end")[0])
    assert first.lineage[-1].snapshot and again.lineage[-1].snapshot == first.lineage[-1].snapshot
    assert again.lineage[-1].content_hash == first.lineage[-1].content_hash
    fresh = run(work / "lineage_flow.py", "run")  # a new run reads the changed data
    assert "snap_total 1000.0" in fresh.stdout, fresh.output


def test_sqlite_profile_tables_and_queries(tmp_path):
    work, run = episode(tmp_path)
    with sqlite3.connect(work / "data" / "shop.db") as conn:
        pd.read_csv(work / "data" / "orders.csv").to_sql("orders", conn, index=False)
    done = run(
        work / "lineage_flow.py", "run", "--profile", "lite", LINEAGE_EXTRA_LOAD="cheap_orders"
    )
    assert done.returncode == 0, done.output
    assert "snap_total 20.0 profile lite" in done.stdout
    with sqlite3.connect(work / "data" / "shop.db") as conn:
        scored = pd.read_sql("SELECT * FROM scored_orders", conn)
    assert list(scored["score"]) == [21.0, 6.0, 13.0]
    store = run.store("LineageFlow")
    end = store.read_manifest("1", "end", store.tasks("1", "end")[0])
    assert end.lineage[0].dataset == "cheap_orders" and end.lineage[0].rows == 2
    assert end.lineage[1].location.endswith("shop.db#orders")
    assert end.lineage[1].snapshot is not None  # a table's snapshot: parquet in the store
    snap = pd.read_parquet(io.BytesIO(bytes(store.content.get(end.lineage[1].snapshot))))
    assert list(snap["amount"]) == [10.5, 3.0, 6.5]


def test_env_profile_and_factories(tmp_path):
    work, run = episode(tmp_path)
    (work / "data" / "emea.csv").write_text("order_id,amount\n7,1.0\n")
    done = run(work / "lineage_flow.py", "run", LINEAGE_ORDERS="emea_orders")
    assert done.returncode == 0, done.output
    store = run.store("LineageFlow")
    start = store.read_manifest("1", "start", store.tasks("1", "start")[0])
    assert start.lineage[0].dataset == "emea_orders"
    assert start.lineage[0].location == str(work / "data" / "emea.csv")
    with sqlite3.connect(work / "data" / "shop.db") as conn:
        pd.read_csv(work / "data" / "orders.csv").to_sql("orders", conn, index=False)
    by_env = run(work / "lineage_flow.py", "run", FLOWKIT_PROFILE="lite")
    assert "profile lite" in by_env.stdout, by_env.output


def test_errors_name_dataset_and_profile(tmp_path):
    work, run = episode(tmp_path)
    flow = work / "lineage_flow.py"
    profile = run(flow, "run", "--profile", "litte")
    assert profile.returncode == 2
    assert "has no profile 'litte'" in profile.stderr and 'Did you mean "lite"' in profile.stderr
    assert not run.root.exists() or not list(run.root.glob("LineageFlow/runs/*"))  # no run

    unknown = run(flow, "run", LINEAGE_ORDERS="ordres")
    assert unknown.returncode != 0
    assert "no dataset 'ordres' in profile 'default'" in unknown.stderr
    assert 'Did you mean "orders"' in unknown.stderr

    schema = run(flow, "run", LINEAGE_BAD_SCHEMA="1")
    assert schema.returncode != 0
    assert (
        "the data saved to dataset 'scored_orders' (profile 'default') does not match its "
        "schema: amount is str, expected float64" in schema.stderr
    )
    assert not (work / "out").exists()  # nothing was written

    secret = run(flow, "run", LINEAGE_EXTRA_LOAD="missing_secret")
    assert secret.returncode != 0
    assert "credential 'nowhere' of dataset 'missing_secret' (profile 'default')" in secret.stderr
    assert "environment variable FK_TEST_UNSET_PASSWORD (its password) is not set" in secret.stderr

    (work / "catalog.toml").write_text(
        (work / "catalog.toml").read_text().replace('type = "csv"', 'type = "cvs"', 1)
    )
    kind = run(flow, "run")
    assert "dataset 'orders' (profile 'default')" in kind.stderr
    assert "has type 'cvs'. Did you mean \"csv\"" in kind.stderr


def test_catalog_list_and_describe_mask_credentials(tmp_path):
    _work, run = episode(tmp_path)
    listed = run(CLI[0], CLI[1], "catalog", "list", "--profile", "pg", PGPORT="5999")
    assert listed.returncode == 0, listed.output
    assert "postgresql+psycopg://flowkit@127.0.0.1:5999/shop#orders" in listed.stdout
    assert "{region}_orders" in listed.stdout
    described = run(
        CLI[0],
        CLI[1],
        "catalog",
        "describe",
        "orders",
        "--profile",
        "pg",
        "--json",
        PGPORT="5999",
        WAREHOUSE_PASSWORD="do-not-show-me",
    )
    shown = json.loads(described.stdout)
    assert shown["credential"] == "warehouse (from env; values ***)"
    assert "do-not-show-me" not in described.output
    factory = run(CLI[0], CLI[1], "catalog", "describe", "apac_orders")
    assert "factory:        {region}_orders" in factory.stdout
    missing = run(CLI[0], CLI[1], "catalog", "describe", "ordrs")
    assert missing.returncode == 2 and 'Did you mean "orders"' in missing.stderr


def test_a_secret_cannot_become_an_artifact(tmp_path):
    flow = tmp_path / "secret_flow.py"
    flow.write_text(
        "from flowkit import FlowSpec, step\n"
        "from flowkit.catalog import Secret\n\n"
        "class SecretFlow(FlowSpec):\n"
        "    @step\n"
        "    def start(self):\n"
        "        self.token = Secret('never-stored-value')\n"
        "        self.next(self.end)\n\n"
        "    @step\n"
        "    def end(self):\n"
        "        pass\n\n"
        "if __name__ == '__main__':\n"
        "    SecretFlow()\n"
    )
    from flowtests import FlowRunner

    run = FlowRunner(tmp_path / "datastore", tmp_path)
    done = run(flow, "run")
    assert done.returncode != 0 and "token" in done.stderr
    stored = b"".join(p.read_bytes() for p in (tmp_path / "datastore").rglob("*") if p.is_file())
    assert b"never-stored-value" not in stored


def test_the_runner_api_passes_profile_and_a_profile_parameter_is_refused(tmp_path):
    import sqlite3

    from flowkit import Runner

    work, run = episode(tmp_path)
    with sqlite3.connect(work / "data" / "shop.db") as conn:
        pd.read_csv(work / "data" / "orders.csv").to_sql("orders", conn, index=False)
    with Runner(str(work / "lineage_flow.py"), env=run.env, cwd=str(work)).run(
        profile="lite"
    ) as running:
        assert running.status == "successful", running.stderr
        assert running.run["start"].task.lineage[0]["profile"] == "lite"
    flow = tmp_path / "param_flow.py"
    flow.write_text(
        "from flowkit import FlowSpec, Parameter, step\n\n"
        "class ParamFlow(FlowSpec):\n"
        "    profile = Parameter('profile', default='x')\n\n"
        "    @step\n"
        "    def start(self):\n"
        "        self.next(self.end)\n\n"
        "    @step\n"
        "    def end(self):\n"
        "        pass\n\n"
        "if __name__ == '__main__':\n"
        "    ParamFlow()\n"
    )
    refused = run(flow, "run")
    assert refused.returncode == 2 and "parameter 'profile' clashes" in refused.stderr
