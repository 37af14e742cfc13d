"""Flows run the way users run them (``python flow.py run``) with the datastore on S3.

The servers are real S3-protocol servers on 127.0.0.1 (``tests/s3servers.py``): SeaweedFS,
which checks request signatures, and moto. Each test gets a fresh prefix of the bucket and
reaches it through the standard AWS variables, as a user would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flowtests import SHAPES, FlowResult, FlowRunner, end_artifact
from s3servers import S3Server, ServerUnavailable, free_ports, start_seaweedfs

from flowkit.datastore import ByteStorage, FlowDatastore, list_snapshot
from flowkit.own_code import PACKAGE_DIR
from flowkit.settings import Settings

TEAM = Path(__file__).parent / "flows" / "team.py"


class S3FlowRunner(FlowRunner):
    """Runs flow files in subprocesses with the datastore under a fresh prefix on ``server``."""

    def __init__(self, server: S3Server, cwd: Path) -> None:
        super().__init__(cwd / "unused", cwd)
        self.server = server
        self.prefix = f"flows-{uuid.uuid4().hex[:12]}"
        self.url = server.url(self.prefix)
        self.env = server.env(dict(self.env, PYTHONUNBUFFERED="1"))
        self.env["FLOWKIT_DATASTORE_ROOT"] = self.url

    def store(self, flow_name: str) -> FlowDatastore:
        # Explicit settings here; the credentials come from the test process's environment,
        # which the fixtures point at the server.
        settings = Settings(s3_endpoint_url=self.server.endpoint, aws_region="us-east-1")
        return FlowDatastore(ByteStorage(self.url, settings), flow_name)

    def objects(self) -> dict[str, bytes]:
        """Every object stored under this runner's prefix, by key."""
        client = self.server.client()
        found = {}
        paginator = client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.server.bucket, Prefix=self.prefix + "/"):
            for entry in page.get("Contents", []):
                body = client.get_object(Bucket=self.server.bucket, Key=entry["Key"])["Body"]
                found[entry["Key"]] = body.read()
        return found


def _point_environment_at(server: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in server.aws_variables().items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)


@pytest.fixture
def on_seaweedfs(
    seaweedfs: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[S3FlowRunner]:
    _point_environment_at(seaweedfs, monkeypatch)
    runner = S3FlowRunner(seaweedfs, tmp_path)
    yield runner
    seaweedfs.clear(runner.prefix)


@pytest.fixture
def on_moto(
    moto_s3: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[S3FlowRunner]:
    _point_environment_at(moto_s3, monkeypatch)
    runner = S3FlowRunner(moto_s3, tmp_path)
    yield runner
    moto_s3.clear(runner.prefix)


@pytest.fixture(params=["on_seaweedfs", "on_moto"])
def on_each_server(request: pytest.FixtureRequest) -> S3FlowRunner:
    return request.getfixturevalue(request.param)


def test_branch_foreach_failure_resume_and_read_back(on_each_server: S3FlowRunner) -> None:
    run = on_each_server
    # The flow and, beside it, a .env holding the secret key: snapshots must leave it out.
    flow = run.cwd / "team.py"
    shutil.copy(TEAM, flow)
    secret, access_key = run.server.secret_key, run.server.access_key
    (run.cwd / ".env").write_text(f"AWS_SECRET_ACCESS_KEY={secret}\n")

    failed = run(flow, "run", TEAM_FAIL="1")
    assert failed.returncode == 1, failed.output
    assert "planned failure on item 3" in failed.stderr
    assert "team.py resume" in failed.stderr
    # only the user's traceback: no frame from the installed package (a clone may be in /flowkit/)
    assert f'File "{PACKAGE_DIR}{os.sep}' not in failed.stderr
    store = run.store("TeamFlow")
    assert store.run_record("1").status == "failed"

    resumed = run(flow, "resume")
    assert resumed.returncode == 0, resumed.output
    assert "cloned" in resumed.stderr

    # Read everything back straight from S3.
    assert store.latest_run_id() == "2"
    record = store.run_record("2")
    assert (record.status, record.origin_run_id) == ("succeeded", "1")
    assert end_artifact(store, "2") == {"squares": [1, 4, 9, 16], "label": "team", "blob": 35840000}
    logs = {
        task: store.read_log("2", "square", task, 0, "stdout")
        for task in store.tasks("2", "square")
    }
    assert b"squaring 3" in b"".join(logs.values())
    snapshot = store.content.get(record.code_sha)
    assert "team.py" in list_snapshot(snapshot)
    assert ".env" not in list_snapshot(snapshot)

    # The client, the way the README shows it.
    client = subprocess.run(
        [
            sys.executable,
            "-c",
            "from flowkit import Flow; print(Flow('TeamFlow').latest_run.data.result)",
        ],
        cwd=run.cwd,
        env=run.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if "cannot import name 'Flow'" not in client.stderr:
        assert client.returncode == 0, client.stderr
        assert "'squares': [1, 4, 9, 16]" in client.stdout

    # No credential anywhere in the datastore: records, manifests, logs, blobs, snapshots.
    objects = run.objects()
    assert len(objects) > 20
    for key, data in objects.items():
        assert secret.encode() not in data, key
        assert access_key.encode() not in data, key
    for name in list_snapshot(snapshot):
        assert secret not in name


def test_concurrent_runners_get_distinct_run_ids(on_seaweedfs: S3FlowRunner) -> None:
    procs = [on_seaweedfs.popen(SHAPES / "linear.py", "run") for _ in range(3)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        results.append(FlowResult(proc.returncode, out, err))
    assert [r.returncode for r in results] == [0, 0, 0], [r.output for r in results]
    store = on_seaweedfs.store("LinearFlow")
    assert store.run_ids() == ["1", "2", "3"]
    assert store.latest_run_id() == "3"
    for run_id in ("1", "2", "3"):
        assert store.run_record(run_id).status == "succeeded"
        assert end_artifact(store, run_id)["x"] == 4


def test_logs_and_artifacts_commands_read_s3(on_moto: S3FlowRunner) -> None:
    flow = SHAPES / "foreach.py"
    assert on_moto(flow, "run").returncode == 0
    logs = on_moto(flow, "logs", "1/end")
    assert logs.returncode == 0, logs.output
    assert "result" in logs.stdout


# -- set-up errors, before any task runs ---------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("bucket", "bucket 'no-such-bucket-here' does not exist"),
        ("secret", "refused the credentials"),
        ("reader", "was denied"),
        ("nocredentials", "no AWS credentials were found"),
        ("endpoint", "cannot reach the S3 endpoint"),
    ],
)
def test_setup_errors_are_one_clear_message_before_any_task(
    on_seaweedfs: S3FlowRunner, case: str, expected: str
) -> None:
    env = dict(on_seaweedfs.env)
    if case == "bucket":
        env["FLOWKIT_DATASTORE_ROOT"] = "s3://no-such-bucket-here/flowkit"
    elif case == "secret":
        env["AWS_SECRET_ACCESS_KEY"] = "not-the-secret"
    elif case == "reader":  # may list (so the check passes) but not write
        env.update(AWS_ACCESS_KEY_ID="reader-key", AWS_SECRET_ACCESS_KEY="reader-secret")
    elif case == "nocredentials":
        del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
    else:
        env["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{free_ports(1)[0]}"
    on_seaweedfs.env = env
    result = on_seaweedfs(SHAPES / "linear.py", "run")
    assert result.returncode == 1, result.output
    assert expected in result.stderr
    assert "\n  Fix: " in result.stderr
    assert "Traceback" not in result.output
    assert "[1/start/" not in result.output  # no task ran
    assert "not-the-secret" not in result.output


# -- a server that goes away mid-run -----------------------------------------------------------


@pytest.fixture
def private_seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A SeaweedFS of this test's own, since the test stops it."""
    try:
        server = start_seaweedfs(tmp_path_factory.mktemp("seaweedfs-fault"))
    except ServerUnavailable as exc:
        pytest.fail(f"no SeaweedFS S3 server: {exc}")
    yield server
    server.stop()


def test_server_stopped_mid_run_fails_clearly_and_resume_finishes(
    private_seaweedfs: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _point_environment_at(private_seaweedfs, monkeypatch)
    run = S3FlowRunner(private_seaweedfs, tmp_path)
    run.env["FLOWKIT_SLOW_SECONDS"] = "2"
    flow = SHAPES.parent / "resumable" / "slow.py"
    proc = run.popen(flow, "run", "--max-workers", "2")
    client = private_seaweedfs.client()
    prefix = f"{run.prefix}/SlowFlow/runs/1/work/"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # until some tasks have committed
        listed = client.list_objects_v2(Bucket=private_seaweedfs.bucket, Prefix=prefix)
        if any(o["Key"].endswith(".manifest.json") for o in listed.get("Contents", [])):
            break
        time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("no task committed within 60 s")
    private_seaweedfs.kill()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, out + err
    # The run stops on the first refused write, in a task or in the runner (issue 11).
    assert "flowkit: run stopped: datastore write failed" in err
    assert "cannot reach the S3 endpoint" in err
    assert "\n  Fix: " in err and "resume" in err
    assert "Traceback" not in err

    private_seaweedfs.start()  # same ports, same data
    resumed = run(flow, "resume")
    assert resumed.returncode == 0, resumed.output
    store = run.store("SlowFlow")
    record = store.run_record(store.latest_run_id() or "")
    assert (record.status, record.origin_run_id) == ("succeeded", "1")
    manifest = store.read_manifest(record.run_id, "join", store.tasks(record.run_id, "join")[0])
    assert store.load_artifact(manifest.artifacts["total"]) == sum(range(6))


def test_seaweedfs_leaves_no_socket_in_tmp(tmp_path: Path) -> None:
    """SeaweedFS makes local sockets in /tmp whatever $TMPDIR says; the helper moves or
    removes every one of this server's, so a test session leaves /tmp as it found it."""
    try:
        server = start_seaweedfs(tmp_path / "weed")
    except ServerUnavailable as exc:
        pytest.fail(f"no SeaweedFS S3 server: {exc}")
    ports = {arg.split("=", 1)[1] for arg in server.command if ".port" in arg and "=" in arg}
    try:
        server.client().put_object(Bucket=server.bucket, Key="k", Body=b"v")
    finally:
        server.stop()
    strays = [
        p.name for p in Path("/tmp").glob("seaweedfs-*.sock") if p.stem.split("-")[-1] in ports
    ]
    assert strays == []
    assert ports - {"0"}  # the server did listen on ports of its own
