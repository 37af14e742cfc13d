"""moto's server, with an AWS Batch that really runs the jobs: the Batch tests' AWS.

``python tests/batch/moto_batch_server.py -H 127.0.0.1 -p PORT`` serves S3, IAM, Batch and
CloudWatch Logs like ``moto_server``, except that a submitted job is executed: moto's own job
runner needs a Docker engine, so it is replaced here by one that runs the job's command in a
subprocess with the job's environment — the container's, with the AWS endpoint pointed at this
server and test credentials standing in for the job's IAM role — and reports back through
moto's normal Batch and Logs APIs, as Batch does:

* states SUBMITTED -> RUNNABLE -> STARTING -> RUNNING -> SUCCEEDED | FAILED; jobs wait in RUNNABLE
  while every slot is busy (``FAKE_BATCH_SLOTS``, default 4: the compute environment's size);
* every output line goes to CloudWatch Logs (group ``/aws/batch/job``) while the job runs, in the
  stream named by the job's ``container.logStreamName``;
* ``container.exitCode`` and ``container.reason``, and ``statusReason`` for a stopped job;
* ``timeout.attemptDurationSeconds`` stops the job ("Job attempt duration exceeded timeout"); a job
  whose environment sets ``FAKE_BATCH_TIME_SCALE`` has its limit scaled by that factor, so a test
  can check the 60-second minimum without waiting a minute;
* TerminateJob stops the process (SIGTERM, then SIGKILL), also every child of an array job;
* array children get ``AWS_BATCH_JOB_ARRAY_INDEX``;
* a job of a ``multinode`` definition (moto registers and describes them but neither reads
  ``nodeOverrides`` nor runs them) runs one process per node, all at once, with the command and
  environment of its node range and of SubmitJob's ``nodeOverrides``, and Batch's node variables
  (``AWS_BATCH_JOB_NODE_INDEX``, ``AWS_BATCH_JOB_NUM_NODES``, ``AWS_BATCH_JOB_MAIN_NODE_INDEX``,
  and ``AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS`` = 127.0.0.1 on the other nodes); as on
  Batch, the job ends when its main node exits, stopping the others, with the main node's
  result; all nodes write to the job's one log stream;
* DescribeJobs of a job whose name starts with ``StatusOutage`` always fails as with expired
  credentials (``ExpiredTokenException``, HTTP 403), so a test can watch the runner give up;
* the first ``FAKE_BATCH_THROTTLE`` (default 5) submissions to the queue ``throttled-queue`` are
  refused with ``TooManyRequestsException`` (HTTP 429), as Batch does when its quota is exceeded.

Every process the server starts is in its process group, so stopping the group stops the jobs.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from typing import Any

from moto.batch import models as batch_models
from moto.batch.responses import BatchResponse
from moto.core.exceptions import AWSError
from moto.moto_api import state_manager
from moto.server import main as moto_main

_SLOTS = threading.Semaphore(int(os.environ.get("FAKE_BATCH_SLOTS", "4")))
_THROTTLED_QUEUE = "throttled-queue"
_THROTTLE_LEFT = [int(os.environ.get("FAKE_BATCH_THROTTLE", "5"))]
_LOG_GROUP = "/aws/batch/job"
_KILL_GRACE_S = 2.0
_PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH", "SYSTEMROOT")

Job = batch_models.Job
BatchBackend = batch_models.BatchBackend
_original_property = Job._get_container_property
_original_details = Job._container_details
_original_terminate = BatchBackend.terminate_job
_original_submit = BatchBackend.submit_job
_original_describe = BatchBackend.describe_jobs
_OUTAGE_PREFIX = "StatusOutage"
_original_submitjob_response = BatchResponse.submitjob
_NODE_OVERRIDES: dict[str, Any] = {}  # job name -> nodeOverrides of its SubmitJob


def _endpoint() -> str:
    return f"http://127.0.0.1:{os.environ['MOTO_PORT']}"


def _container_property(self: Any, name: str, default: Any) -> Any:
    # moto appends to the submitted override list on every describe; build a fresh one.
    if name != "environment":
        return _original_property(self, name, default)
    merged = {
        e["name"]: e["value"]
        for e in self.job_definition.container_properties.get("environment", [])
    }
    merged.update({e["name"]: e["value"] for e in self.container_overrides.get("environment", [])})
    merged["AWS_BATCH_JOB_ID"] = self.job_id
    return [{"name": k, "value": v} for k, v in merged.items()]


def _container_details(self: Any) -> dict[str, Any]:
    details = _original_details(self)
    if self.exit_code is not None:
        details["exitCode"] = self.exit_code
    if getattr(self, "fake_reason", None):
        details["reason"] = self.fake_reason
    return details


def _job_env(self: Any) -> dict[str, str]:
    return _platform_env(self, self._get_container_property("environment", []))


def _platform_env(self: Any, variables: list[dict[str, str]]) -> dict[str, str]:
    env = {k: os.environ[k] for k in _PASSED_THROUGH if k in os.environ}
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env.update({e["name"]: e["value"] for e in variables})
    # What the job's network and IAM role would give it on AWS.
    env.update(
        AWS_ENDPOINT_URL=_endpoint(),
        AWS_ACCESS_KEY_ID="job-role-key",
        AWS_SECRET_ACCESS_KEY="job-role-secret",
        AWS_REGION=self.backend.region_name,
        AWS_DEFAULT_REGION=self.backend.region_name,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )
    index = self.array_properties.get("index")
    if index is not None:
        env["AWS_BATCH_JOB_ARRAY_INDEX"] = str(index)
    return env


def _stream_output(self: Any, proc: subprocess.Popen, stream: str) -> None:
    assert proc.stdout is not None
    for raw in proc.stdout:
        line = raw.decode(errors="replace").rstrip("\n")
        event = {"timestamp": int(time.time() * 1000), "message": line}
        self._log_backend.put_log_events(_LOG_GROUP, stream, [event])


def _stop(proc: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGTERM, _KILL_GRACE_S), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _run(self: Any) -> None:
    """Replacement of moto's Docker-based ``Job.run``."""
    if self.job_definition.type == "multinode":
        _run_nodes(self)
        return
    slot = False
    proc: subprocess.Popen | None = None
    workdir = tempfile.mkdtemp(prefix="fake-batch-")  # the container's scratch, removed after
    try:
        self.status = "RUNNABLE"
        while not self.stop and not slot:
            slot = _SLOTS.acquire(timeout=0.1)
        if self.stop:
            self._mark_stopped(success=False)
            return
        self.status = "STARTING"
        env = _job_env(self)
        limit = self._get_attempt_duration()
        if limit:
            limit *= float(env.get("FAKE_BATCH_TIME_SCALE", "1"))
        stream = f"{self.job_definition.name}/default/{uuid.uuid4().hex}"
        self._log_backend.ensure_log_group(_LOG_GROUP)
        self._log_backend.ensure_log_stream(_LOG_GROUP, stream)
        self.log_stream_name = stream
        proc = subprocess.Popen(
            self._get_container_property("command", []),
            env=env,
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        reader = threading.Thread(target=_stream_output, args=(self, proc, stream), daemon=True)
        reader.start()
        self.job_started_at = batch_models.datetime.now()
        self._start_attempt()
        self.status = "RUNNING"
        started, timed_out = time.monotonic(), False
        while proc.poll() is None:
            if self.stop:
                _stop(proc)
            elif limit and time.monotonic() - started > limit:
                timed_out = True
                self.job_stopped_reason = "Job attempt duration exceeded timeout"
                _stop(proc)
            time.sleep(0.05)
        reader.join(5)
        code = proc.returncode
        self.exit_code = 128 - code if code < 0 else code  # a signal, reported as Docker does
        if not self.stop and not timed_out:
            self.fake_reason = "Essential container in task exited"
        self._mark_stopped(success=code == 0 and not self.stop and not timed_out)
    except Exception as exc:  # report it like Batch would, never leave the job hanging
        self.job_stopped_reason = f"fake Batch could not run the job: {exc}"
        self._mark_stopped(success=False)
    finally:
        if proc is not None and proc.poll() is None:
            _stop(proc)
        if slot:
            _SLOTS.release()
        shutil.rmtree(workdir, ignore_errors=True)


def _covers(target: str, index: int, num_nodes: int) -> bool:
    """Whether the node range ``target`` (``"2"``, ``"0:"``, ``":3"``, ``"1:2"``) has ``index``."""
    first, sep, last = target.partition(":")
    if not sep:
        return int(first) == index
    return int(first or 0) <= index <= (int(last) if last else num_nodes - 1)


def _node_container(props: dict, overrides: dict, index: int, num_nodes: int) -> dict:
    """The container of node ``index``: its node range's, with SubmitJob's overrides applied."""
    ranges = props["nodeRangeProperties"]
    base = next(r["container"] for r in ranges if _covers(r["targetNodes"], index, num_nodes))
    container = {**base, "environment": list(base.get("environment", []))}
    for override in overrides.get("nodePropertyOverrides", []):
        if not _covers(override["targetNodes"], index, num_nodes):
            continue
        given = override.get("containerOverrides", {})
        if "command" in given:
            container["command"] = given["command"]
        names = {e["name"] for e in given.get("environment", [])}
        kept = [e for e in container["environment"] if e["name"] not in names]
        container["environment"] = kept + list(given.get("environment", []))
    return container


def _run_nodes(self: Any) -> None:
    """Run a multi-node parallel job: one process per node, ended with its main node."""
    slot = False
    procs: list[subprocess.Popen] = []
    readers: list[threading.Thread] = []
    workdirs: list[str] = []
    try:
        self.status = "RUNNABLE"
        while not self.stop and not slot:
            slot = _SLOTS.acquire(timeout=0.1)
        if self.stop:
            self._mark_stopped(success=False)
            return
        self.status = "STARTING"
        props = self.job_definition.node_properties
        overrides = _NODE_OVERRIDES.pop(self.job_name, {})
        num_nodes = int(overrides.get("numNodes") or props["numNodes"])
        main = int(props.get("mainNode", 0))
        stream = f"{self.job_definition.name}/default/{uuid.uuid4().hex}"
        self._log_backend.ensure_log_group(_LOG_GROUP)
        self._log_backend.ensure_log_stream(_LOG_GROUP, stream)
        self.log_stream_name = stream
        limit = self._get_attempt_duration()
        for index in range(num_nodes):
            container = _node_container(props, overrides, index, num_nodes)
            env = _platform_env(self, container["environment"])
            env.update(
                AWS_BATCH_JOB_ID=f"{self.job_id}#{index}",
                AWS_BATCH_JOB_NODE_INDEX=str(index),
                AWS_BATCH_JOB_NUM_NODES=str(num_nodes),
                AWS_BATCH_JOB_MAIN_NODE_INDEX=str(main),
            )
            if index != main:  # Batch sets it on the other nodes only
                env["AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS"] = "127.0.0.1"
            if limit and index == main:
                limit *= float(env.get("FAKE_BATCH_TIME_SCALE", "1"))
            workdirs.append(tempfile.mkdtemp(prefix="fake-batch-node-"))
            proc = subprocess.Popen(
                container["command"],
                env=env,
                cwd=workdirs[-1],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            procs.append(proc)
            reader = threading.Thread(target=_stream_output, args=(self, proc, stream), daemon=True)
            reader.start()
            readers.append(reader)
        self.job_started_at = batch_models.datetime.now()
        self._start_attempt()
        self.status = "RUNNING"
        started, timed_out = time.monotonic(), False
        while procs[main].poll() is None:
            if self.stop:
                _stop(procs[main])
            elif limit and time.monotonic() - started > limit:
                timed_out = True
                self.job_stopped_reason = "Job attempt duration exceeded timeout"
                _stop(procs[main])
            time.sleep(0.05)
        for proc in procs:  # the job ends with its main node
            _stop(proc)
        for reader in readers:
            reader.join(5)
        code = procs[main].returncode
        self.exit_code = 128 - code if code < 0 else code
        if not self.stop and not timed_out:
            self.fake_reason = "Essential container in task exited"
        self._mark_stopped(success=code == 0 and not self.stop and not timed_out)
    except Exception as exc:  # report it like Batch would, never leave the job hanging
        self.job_stopped_reason = f"fake Batch could not run the job: {exc}"
        self._mark_stopped(success=False)
    finally:
        for proc in procs:
            if proc.poll() is None:
                _stop(proc)
        if slot:
            _SLOTS.release()
        for workdir in workdirs:
            shutil.rmtree(workdir, ignore_errors=True)


def _submitjob_response(self: Any) -> str:
    # moto's SubmitJob drops nodeOverrides: keep them for the job's run, by job name
    overrides = self._get_param("nodeOverrides")
    if overrides:
        _NODE_OVERRIDES[self._get_param("jobName")] = overrides
    return _original_submitjob_response(self)


def _terminate_job(self: Any, job_id: str, reason: str) -> None:
    _original_terminate(self, job_id, reason)
    job = self.get_job_by_id(job_id)
    for child in (job._child_jobs or []) if job is not None else []:
        child.terminate(reason)
    if job is not None and job._child_jobs:
        job._mark_stopped(success=False)


def _submit_job(self: Any, job_name: str, job_def_id: str, job_queue: str, *a: Any, **kw: Any):
    queue = self.get_job_queue(job_queue)
    if queue is not None and queue.name == _THROTTLED_QUEUE and _THROTTLE_LEFT[0] > 0:
        _THROTTLE_LEFT[0] -= 1
        raise AWSError("Too Many Requests", "TooManyRequestsException", 429)
    return _original_submit(self, job_name, job_def_id, job_queue, *a, **kw)


def _describe_jobs(self: Any, jobs: list[str] | None) -> list[dict[str, Any]]:
    described = _original_describe(self, jobs)
    if any(job.get("jobName", "").startswith(_OUTAGE_PREFIX) for job in described):
        raise AWSError(
            "The security token included in the request is expired", "ExpiredTokenException", 403
        )
    return described


def install() -> None:
    """Patch moto's Batch so that jobs run as subprocesses."""
    # States are set by _run only; moto must not advance them on its own.
    state_manager.set_transition("batch::job", {"progression": "manual", "times": 10**9})
    Job.run = _run
    Job._get_container_property = _container_property
    Job._container_details = _container_details
    BatchBackend.terminate_job = _terminate_job
    BatchBackend.submit_job = _submit_job
    BatchBackend.describe_jobs = _describe_jobs
    BatchResponse.submitjob = _submitjob_response


if __name__ == "__main__":
    install()
    moto_main(sys.argv[1:])
