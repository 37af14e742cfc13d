"""A decorator's ``task_record`` is kept in the manifest under its own name, and only there."""

from __future__ import annotations

from flowtests import FLOWS


def test_each_decorator_records_in_its_own_namespace(run_flow) -> None:
    result = run_flow(FLOWS / "plugin_data" / "recording.py", "run")
    assert result.returncode == 0, result.output
    store = run_flow.store("RecordingFlow")
    start = store.read_manifest("1", "start", "1")
    assert start.plugin_data == {"stamp": {"label": "first", "sizes": [1, 2]}}
    # data that is not JSON is reported in the task's log and left out; the task still succeeds
    assert start.status == "succeeded"
    assert "@broken: task_record() failed or returned data that is not JSON" in result.stderr
    assert store.read_manifest("1", "end", "2").plugin_data == {}
