"""Failures on Batch: a failing task, a job that dies, retries, timeouts and Ctrl-C."""

from __future__ import annotations

import signal

from fakebatch import wait_for
from flowtests import FLOWS, end_artifact

FAILING = FLOWS / "batch" / "failing.py"
ROBUST = FLOWS / "batch" / "robust.py"
SLEEPY = FLOWS / "batch" / "sleepy.py"


def test_batch_failed_task_shows_the_users_error_then_resumes(batch_flow):
    failed = batch_flow(FAILING, "run")
    assert failed.returncode == 1, failed.output
    assert "task FailingBatchFlow/1/work/3 raised ValueError" in failed.stderr
    assert 'failing.py", line' in failed.stderr and "split b is broken" in failed.stderr
    assert "failing.py resume" in failed.stderr
    resumed = batch_flow(FAILING, "resume", BATCH_FIX="1")
    assert resumed.returncode == 0, resumed.output
    assert "3 tasks ran, 3 cloned" in resumed.stderr  # only split b (and what follows) ran
    assert "[2/end/6] outs ['A', 'B', 'C']" in resumed.stdout
    assert [j["jobName"] for j in batch_flow.jobs("FailingBatchFlow-2-work")] == [
        "FailingBatchFlow-2-work-3-a0"
    ]


def test_batch_job_that_dies_reports_its_exit(batch_flow):
    result = batch_flow(FAILING, "run", BATCH_CRASH="1")
    assert result.returncode == 1, result.output
    assert "task FailingBatchFlow/1/work/3 raised TaskCrashed" in result.stderr
    assert "failed with exit code 3 before the task reported" in result.stderr
    assert "Essential container in task exited" in result.stderr
    assert "Last lines of its log:\n" in result.stderr and "  about to vanish" in result.stderr
    manifest = batch_flow.store("FailingBatchFlow").read_manifest("1", "work", "3")
    assert manifest.status == "failed" and manifest.failure.type == "TaskCrashed"
    assert manifest.failure.kind == "crashed"


def test_batch_retry_and_timeouts(batch_flow):
    result = batch_flow(ROBUST, "run", BATCH_SLEEP="30", BATCH_LONG_SLEEP="30")
    assert result.returncode == 0, result.output
    store = batch_flow.store("RobustBatchFlow")
    summary = end_artifact(store, "1", "summary")
    # @retry: the failed attempt was re-submitted as a new job, with the next attempt number.
    assert summary["attempt_seen"] == 1
    assert store.attempts("1", "flaky", "2") == [0, 1]
    flaky = {j["jobName"]: j["status"] for j in batch_flow.jobs("RobustBatchFlow-1-flaky")}
    assert flaky == {
        "RobustBatchFlow-1-flaky-2-a0": "FAILED",
        "RobustBatchFlow-1-flaky-2-a1": "SUCCEEDED",
    }
    # @timeout below Batch's 60-second minimum: flowkit terminates the job itself.
    assert (
        "TaskTimeout: the task timed out after 2 s (@timeout); flowkit terminated"
        in (summary["slow_error"])
    )
    # @timeout that Batch enforces (attemptDurationSeconds; the fake scales its clock down).
    assert "the task timed out after 90 s (@timeout); AWS Batch stopped" in summary["patient_error"]
    assert "Job attempt duration exceeded timeout" in summary["patient_error"]
    [slow] = batch_flow.jobs("RobustBatchFlow-1-slow")
    [patient] = batch_flow.jobs("RobustBatchFlow-1-patient")
    assert slow["timeout"] == {"attemptDurationSeconds": 60}
    assert patient["timeout"] == {"attemptDurationSeconds": 90}
    assert "timed out after 2 s (@timeout)" in slow["statusReason"]


def test_batch_ctrl_c_terminates_every_job(batch_flow):
    proc = batch_flow.popen(SLEEPY, "run")
    try:

        def all_running():
            children = [j for j in batch_flow.jobs("SleepyBatchFlow-1-nap") if ":" in j["jobId"]]
            return len(children) == 3 and all(j["status"] == "RUNNING" for j in children)

        wait_for(all_running, timeout=60)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, out + err
    assert "asked to terminate 3 Batch job(s)" in err
    children = [j for j in batch_flow.jobs("SleepyBatchFlow-1-nap") if ":" in j["jobId"]]
    assert len(children) == 3
    for job in children:  # FAILED once the process is gone; SIGTERM shows as exit code 143
        assert job["status"] == "FAILED" and job["container"]["exitCode"] == 143
        assert job["statusReason"] == "the flowkit run was interrupted"
    store = batch_flow.store("SleepyBatchFlow")
    assert store.run_record("1").status == "killed"
    assert store.read_manifest("1", "nap", "2").failure.kind == "killed"


def test_batch_gives_up_when_job_states_cannot_be_read(batch_flow):
    # expired credentials: every DescribeJobs fails; the runner must not poll forever
    result = batch_flow(
        FLOWS / "batch" / "status_outage.py",
        "run",
        FLOWKIT_REMOTE_STATUS_TIMEOUT="3",
        timeout=90,
    )
    assert result.returncode == 1, result.output
    assert "giving up on 1 Batch job(s) after" in result.stderr
    assert "StatusOutageFlow-1-start-1-a0" in result.stderr
    assert "ExpiredTokenException" in result.stderr or "expired" in result.stderr
    assert "task StatusOutageFlow/1/start/1 raised StatusUnavailable" in result.stderr
    store = batch_flow.store("StatusOutageFlow")
    manifest = store.read_manifest("1", "start", "1")
    assert manifest.status == "failed" and manifest.failure.kind == "lost"
    assert store.run_record("1").status == "failed"
