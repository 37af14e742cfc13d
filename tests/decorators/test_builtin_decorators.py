"""retry, catch, timeout, resources and environment, alone and combined, through the real CLI."""

from __future__ import annotations

from flowtests import FLOWS, end_artifact

ROBUST = FLOWS / "robust" / "robust.py"
STUBBORN = FLOWS / "robust" / "stubborn.py"


def _task(store, run_id, step):
    [task_id] = store.tasks(run_id, step)
    return task_id


def test_retry_records_every_attempt(run_flow):
    result = run_flow(ROBUST, "run", ROBUST_FAIL_TIMES="2")
    assert result.returncode == 0, result.output
    store = run_flow.store("RobustFlow")
    task = _task(store, "1", "flaky")
    assert store.attempts("1", "flaky", task) == [0, 1, 2]
    statuses = [store.read_manifest("1", "flaky", task, a).status for a in (0, 1, 2)]
    assert statuses == ["failed", "failed", "succeeded"]
    for attempt in (0, 1, 2):
        assert (
            f"attempt {attempt}" in store.read_log("1", "flaky", task, attempt, "stdout").decode()
        )
    assert "flaky failure on attempt 1" in store.read_log("1", "flaky", task, 1, "stderr").decode()
    assert end_artifact(store, "1", "summary")["attempt_seen"] == 2
    assert "retrying in 0 s" in result.stderr
    assert store.run_record("1").summary["retries"] == 2


def test_retry_exhausted_fails_the_run(run_flow):
    result = run_flow(ROBUST, "run", ROBUST_FAIL_TIMES="9")
    assert result.returncode == 1
    assert "flaky failure on attempt 3" in result.stderr
    store = run_flow.store("RobustFlow")
    assert store.attempts("1", "flaky", _task(store, "1", "flaky")) == [0, 1, 2, 3]


def test_waiting_for_a_retry_does_not_hold_a_worker(run_flow):
    result = run_flow(FLOWS / "robust" / "retry_slot.py", "run", "--max-workers", "1")
    assert result.returncode == 0, result.output
    store = run_flow.store("RetrySlotFlow")
    [join] = [m for m in store.manifests("1") if m.step == "join"]
    starts = store.load_artifact(join.artifacts["starts"])
    # split 1 ran while split 0 waited 1.2 s for its retry
    assert starts[1] < starts[0] - 0.5


def test_timeout_retry_and_catch_combined(run_flow):
    result = run_flow(ROBUST, "run", ROBUST_SLEEP="30")
    assert result.returncode == 0, result.output
    store = run_flow.store("RobustFlow")
    summary = end_artifact(store, "1", "summary")
    assert summary["slow_error"].startswith("TaskTimeout: the task timed out after 1 s")
    slow = _task(store, "1", "slow")
    assert store.attempts("1", "slow", slow) == [0, 1]
    final = store.read_manifest("1", "slow", slow)
    assert final.status == "succeeded" and final.caught == "slow_error"
    assert "timed out" in final.failure.message and final.failure.kind == "timeout"


def test_timeout_kills_code_stuck_in_c(run_flow):
    result = run_flow(STUBBORN, "run", STUBBORN_MODE="c_sleep", timeout=60)
    assert result.returncode == 0, result.output
    store = run_flow.store("StubbornFlow")
    assert store.attempts("1", "risky", _task(store, "1", "risky")) == [0, 1, 2]
    assert "timed out after 1 s" in end_artifact(store, "1", "problem_text")


def test_task_killed_by_the_user_is_not_retried(run_flow):
    result = run_flow(STUBBORN, "run", STUBBORN_MODE="sigterm")
    assert result.returncode == 1, result.output
    assert "SIGTERM" in result.stderr
    store = run_flow.store("StubbornFlow")
    assert store.attempts("1", "risky", _task(store, "1", "risky")) == [0]


def test_caught_exception_is_readable_without_its_class(run_flow):
    result = run_flow(STUBBORN, "run", STUBBORN_MODE="custom")
    assert result.returncode == 0, result.output
    assert "@catch stored it in self.problem" in result.stderr
    store = run_flow.store("StubbornFlow")
    [risky] = [m for m in store.manifests("1") if m.step == "risky"]
    caught = store.load_artifact(risky.artifacts["problem"])  # this process lacks CustomError
    assert caught.type == "CustomError"
    assert str(caught) == "CustomError: only this file knows this class"
    assert "stubborn.py" in caught.traceback
    assert end_artifact(store, "1", "problem_text") == str(caught)


def test_catch_without_failure_stores_nothing(run_flow):
    result = run_flow(ROBUST, "run")
    assert result.returncode == 0, result.output
    summary = end_artifact(run_flow.store("RobustFlow"), "1", "summary")
    assert summary["doom"] == "None" and summary["slow_error"] == "None"


def test_resources_recorded_and_environment_set(run_flow):
    for launcher in ("fork", "spawn"):
        result = run_flow(ROBUST, "run", "--launcher", launcher)
        assert result.returncode == 0, result.output
    store = run_flow.store("RobustFlow")
    for run_id in ("1", "2"):
        assert end_artifact(store, run_id, "summary")["greeting"] == "hi"
        manifest = store.read_manifest(run_id, "configured", _task(store, run_id, "configured"))
        assert manifest.resources == {"cpu": 1, "memory": 100, "gpu": 0}


def test_resources_beyond_this_machine_warn(run_flow, tmp_path):
    flow = tmp_path / "big.py"
    flow.write_text(
        (FLOWS / "shapes" / "linear.py")
        .read_text()
        .replace("from flowkit import", "from flowkit import resources,")
        .replace(
            "    @step\n    def a(self):",
            "    @resources(cpu=4096, memory=10**9)\n    @step\n    def a(self):",
        )
    )
    (tmp_path / "_probe.py").write_text((FLOWS / "shapes" / "_probe.py").read_text())
    result = run_flow(flow, "run")
    assert result.returncode == 0, result.output
    assert "step 'a' asks for 4096 CPUs" in result.stderr
    assert "MB of memory; this machine has" in result.stderr


def test_with_applies_a_decorator_to_every_step(run_flow):
    linear = FLOWS / "shapes" / "linear.py"
    failed = run_flow(linear, "run", FLOWKIT_TEST_FAIL="c")
    assert failed.returncode == 1
    # the probe fails on every attempt; with a retry, c fails twice and the run still fails,
    # but both attempts exist: proof the decorator was applied to a step that has none
    result = run_flow(
        linear, "run", "--with", "retry:times=1,minutes_between_retries=0", FLOWKIT_TEST_FAIL="c"
    )
    assert result.returncode == 1
    store = run_flow.store("LinearFlow")
    assert store.attempts("2", "c", _task(store, "2", "c")) == [0, 1]
    manifest = store.read_manifest("2", "start", _task(store, "2", "start"))
    assert manifest.decorators == ["retry:times=1,minutes_between_retries=0"]


def test_with_before_the_command_is_merged_with_the_commands_own(run_flow):
    linear = FLOWS / "shapes" / "linear.py"
    retry = "retry:times=1,minutes_between_retries=0"
    env = 'environment:vars={"GREETING":"hi"}'
    # given before `run` (as in Metaflow), after it, and both: each decorator applies once
    result = run_flow(
        linear, "--with", retry, "run", "--with", retry, "--with", env, FLOWKIT_TEST_FAIL="c"
    )
    assert result.returncode == 1, result.output
    store = run_flow.store("LinearFlow")
    assert store.attempts("1", "c", _task(store, "1", "c")) == [0, 1]
    manifest = store.read_manifest("1", "start", _task(store, "1", "start"))
    assert manifest.decorators == [retry, "environment:vars=GREETING"]  # values hidden
    unknown = run_flow(linear, "--with", "retyr", "check")
    assert unknown.returncode == 2
    assert 'Did you mean "retry"?' in unknown.stderr
