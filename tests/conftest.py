"""Fixtures shared by every test folder; the helpers themselves live in ``flowtests.py``."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fakebatch import batch_flow, fake_batch  # noqa: F401  (fixtures of the Batch tests)
from fakesfn import fake_sfn, sfn_env  # noqa: F401  (fixtures of the Step Functions tests)
from flowtests import SHAPE_CASES, FlowRunner, Shape, record_inspection_runs
from pgserver import PgServer, PgUnavailable, start_postgres
from s3servers import STARTERS, S3Server, ServerUnavailable

# -- nothing of ours is left in $TMPDIR ---------------------------------------------------------
# The session runs with a private $TMPDIR (inherited by every flow, server and Batch job it
# starts). At the end, anything left in it besides pytest's own basetemp is a leak: the session
# fails and names it. The private folder is then removed, so the user's $TMPDIR stays clean
# whatever happened, and concurrent test sessions cannot blame each other's leftovers.
_TMP_KEY = pytest.StashKey[tuple[Path, "str | None"]]()


def pytest_configure(config: pytest.Config) -> None:
    private = Path(tempfile.mkdtemp(prefix="fk-tests-"))
    config.stash[_TMP_KEY] = (private, os.environ.get("TMPDIR"))
    os.environ["TMPDIR"] = str(private)
    tempfile.tempdir = str(private)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _TMP_KEY not in session.config.stash:
        return
    private, previous = session.config.stash[_TMP_KEY]
    left = sorted(p.name for p in private.iterdir() if not p.name.startswith("pytest-of-"))
    if previous is None:
        os.environ.pop("TMPDIR", None)
    else:
        os.environ["TMPDIR"] = previous
    tempfile.tempdir = None
    shutil.rmtree(private, ignore_errors=True)
    if left:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        message = f"the tests left {len(left)} entries in $TMPDIR: {', '.join(left[:20])}"
        if reporter is not None:
            reporter.write_line(f"LEAK: {message}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def run_flow(tmp_path: Path) -> FlowRunner:
    """``run_flow(path, "run", "--x", "1")`` runs a flow; ``.store(name)`` opens its datastore."""
    return FlowRunner(tmp_path / "datastore", tmp_path)


@pytest.fixture(params=sorted(SHAPE_CASES))
def shape(request: pytest.FixtureRequest) -> Shape:
    """Every DAG shape in turn (linear, branch, foreach, nested foreach, switch)."""
    return SHAPE_CASES[request.param]


@pytest.fixture(scope="session")
def s3_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], S3Server]]:
    """``s3_servers("seaweedfs" | "moto")``: that server, started on first use, stopped at the
    end of the session (also when tests fail). Tests that need one fail, saying why, when it
    cannot be installed or started here: a skipped S3 suite would pass unnoticed."""
    started: dict[str, S3Server | ServerUnavailable] = {}

    def get(name: str) -> S3Server:
        if name not in started:
            try:
                started[name] = STARTERS[name](tmp_path_factory.mktemp(name))
            except ServerUnavailable as exc:
                started[name] = exc
        server = started[name]
        if isinstance(server, ServerUnavailable):
            pytest.fail(f"no {name} S3 server: {server}")
        return server

    try:
        yield get
    finally:
        for server in started.values():
            if isinstance(server, S3Server):
                server.stop()


@pytest.fixture
def seaweedfs(s3_servers: Callable[[str], S3Server]) -> S3Server:
    """SeaweedFS (``weed mini``) on 127.0.0.1, checking request signatures."""
    return s3_servers("seaweedfs")


@pytest.fixture
def moto_s3(s3_servers: Callable[[str], S3Server]) -> S3Server:
    """moto_server on 127.0.0.1."""
    return s3_servers("moto")


@pytest.fixture(scope="session")
def postgres() -> Iterator[PgServer]:
    """A throw-away PostgreSQL server on 127.0.0.1 (tests/pgserver.py), stopped and removed at
    the end of the session. A test needing it fails, saying why, when none can start here."""
    try:
        server = start_postgres()
    except PgUnavailable as exc:
        pytest.fail(f"no PostgreSQL server: {exc}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def recorded_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A datastore holding the runs ``flowtests.record_inspection_runs`` describes (made once)."""
    work = tmp_path_factory.mktemp("recorded-runs")
    return record_inspection_runs(FlowRunner(work / "datastore", work))


@pytest.fixture
def recorded(recorded_root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``recorded_root``, made the datastore everything finds (``FLOWKIT_DATASTORE_ROOT``)."""
    monkeypatch.setenv("FLOWKIT_DATASTORE_ROOT", str(recorded_root))
    return recorded_root
