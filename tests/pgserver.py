"""A throw-away PostgreSQL server on 127.0.0.1 for the data catalog's tests.

``initdb`` refuses to run as root, so when the tests run as root the server runs as an
unprivileged account that exists on every Debian-like system (``nobody``, else the first other
non-root account found). Its files live in a folder of their own that the account can reach,
removed when the server stops. Password authentication (``scram-sha-256``) is on, so
credentials are really used. When no server can be started, :class:`PgUnavailable` says why:
the tests fail, they are never skipped.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

_FAST_STOP = ("-m", "fast", "-w", "stop")
# fresh, password-checked, unsynced (a test server: losing it on a crash costs nothing)
_INIT = ("-A", "scram-sha-256", "-E", "UTF8", "--no-sync", "--pwfile")
_START = ("-w", "-t", "60", "start", "-o")
BIN_DIRS = ("/usr/local/bin", "/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin")


class PgUnavailable(Exception):
    """No PostgreSQL server could be started here."""


@dataclass
class PgServer:
    """A running server and the one account the tests use.

    Attributes:
        port: Its TCP port on 127.0.0.1.
        user: The database user.
        password: Its password (a fresh random value: the tests' sentinel).
        database: A database created at start.
        folder: Where its files are; removed by :meth:`stop`.
    """

    port: int
    user: str
    password: str = field(repr=False)
    database: str
    folder: Path
    bin_dir: Path
    run_as: tuple[int, int] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """A SQLAlchemy URL without the password (what a catalog holds)."""
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{self.database}"

    def stop(self) -> None:
        """Stop the server (fast) and remove its files."""
        try:
            _run(
                [str(self.bin_dir / "pg_ctl"), "-D", str(self.folder / "data"), *_FAST_STOP],
                self.run_as,
                timeout=60,
            )
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def _bin_dir() -> Path:
    for folder in BIN_DIRS:
        if (Path(folder) / "initdb").is_file() and (Path(folder) / "pg_ctl").is_file():
            return Path(folder)
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise PgUnavailable(f"no initdb/pg_ctl in {', '.join(BIN_DIRS)} or on PATH")


def _account() -> tuple[int, int] | None:
    """The uid and gid to run the server as: ``None`` when not root (run as ourselves)."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam("nobody")
        return entry.pw_uid, entry.pw_gid
    except KeyError:
        pass
    for entry in pwd.getpwall():
        if entry.pw_uid != 0:
            return entry.pw_uid, entry.pw_gid
    raise PgUnavailable("running as root and no unprivileged account exists to run initdb as")


def _reachable_base() -> Path:
    """A temp folder every account can traverse (the tests' private $TMPDIR is root-only)."""
    base = Path(tempfile.gettempdir()).resolve()
    while base != base.parent and not (base.stat().st_mode & 0o001):
        base = base.parent
    return base


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(
    command: list[str], run_as: tuple[int, int] | None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    kwargs: dict = {}
    if run_as is not None:
        kwargs = {"user": run_as[0], "group": run_as[1], "extra_groups": []}
    return subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, check=False, **kwargs
    )


def start_postgres() -> PgServer:
    """Initialise a cluster in a fresh folder, start it on a free port and create a database.

    Raises:
        PgUnavailable: A step failed; the message has the tool's output.
    """
    bin_dir = _bin_dir()
    run_as = _account()
    folder = Path(tempfile.mkdtemp(prefix="fk-pg-", dir=_reachable_base()))
    try:
        if run_as is not None:
            os.chown(folder, *run_as)
        password = "sentinel-" + secrets.token_hex(12)
        pwfile = folder / "pw"
        pwfile.write_text(password)
        if run_as is not None:
            os.chown(pwfile, *run_as)
        data = folder / "data"
        init = _run(
            [str(bin_dir / "initdb"), "-D", str(data), "-U", "flowkit", *_INIT, str(pwfile)],
            run_as,
        )
        pwfile.unlink()
        if init.returncode != 0:
            raise PgUnavailable(f"initdb failed: {init.stderr.strip() or init.stdout.strip()}")
        port = _free_port()
        options = f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories='' "
        options += "-c fsync=off -c full_page_writes=off"
        started = _run(
            [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), *_START, options],
            run_as,
        )
        if started.returncode != 0:
            log = (folder / "log").read_text() if (folder / "log").exists() else ""
            raise PgUnavailable(f"pg_ctl start failed: {started.stderr.strip()} {log[-2000:]}")
        server = PgServer(port, "flowkit", password, "shop", folder, bin_dir, run_as)
        _create_database(server)
        return server
    except BaseException:
        if (folder / "data" / "postmaster.pid").exists():
            _run(
                [str(bin_dir / "pg_ctl"), "-D", str(folder / "data"), "-m", "immediate", "stop"],
                run_as,
            )
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _create_database(server: PgServer) -> None:
    import psycopg

    deadline = time.monotonic() + 30
    while True:
        try:
            with psycopg.connect(
                host="127.0.0.1",
                port=server.port,
                user=server.user,
                password=server.password,
                dbname="postgres",
                autocommit=True,
            ) as conn:
                conn.execute(f"CREATE DATABASE {server.database}")
            return
        except psycopg.OperationalError as exc:
            if time.monotonic() > deadline:
                raise PgUnavailable(f"the server does not accept connections: {exc}") from None
            time.sleep(0.2)
