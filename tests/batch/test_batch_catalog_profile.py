"""A ``@batch`` step's ``self.catalog`` uses the run's recorded catalog and profile: flowkit
sends no ``FLOWKIT_PROFILE`` to the job, and one the step sets there does not change the run's."""

from __future__ import annotations

from flowtests import end_artifact
from profileproject import write_project

FLOW = """
import os
from flowkit import FlowSpec, batch, environment, step

# the test's moved copy of the data, for the job only (read where the job is submitted)
MOVED = {"FLOWKIT_CATALOG_BASE": os.environ["MOVED"]} if "MOVED" in os.environ else {}


class CatalogBatchFlow(FlowSpec):
    @step
    def start(self):
        self.local_read = self.catalog.load("greeting")
        self.next(self.remote)

    @batch
    @environment(vars={"FLOWKIT_PROFILE": "default", **MOVED})
    @step
    def remote(self):
        self.job_read = self.catalog.load("greeting")
        self.job_profile = self.catalog.profile
        self.job_id = os.environ.get("AWS_BATCH_JOB_ID")
        self.next(self.end)

    @step
    def end(self):
        print("job read", self.job_read)


if __name__ == "__main__":
    CatalogBatchFlow()
"""


def test_batch_job_reads_the_runs_profile(batch_flow, tmp_path):
    flow = write_project(tmp_path / "proj", FLOW)
    result = batch_flow(flow, "run", "--profile", "x")
    assert result.returncode == 0, result.output
    store = batch_flow.store("CatalogBatchFlow")
    assert end_artifact(store, "1", "local_read") == "x data"
    assert end_artifact(store, "1", "job_read") == "x data"
    assert end_artifact(store, "1", "job_profile") == "x"
    [job] = batch_flow.jobs("CatalogBatchFlow-1-remote")
    assert end_artifact(store, "1", "job_id") == job["jobId"]  # it did run as a job
    sent = {e["name"]: e["value"] for e in job["container"]["environment"]}
    assert sent["FLOWKIT_PROFILE"] == "default"  # the step's @environment: the record wins
    [task] = store.tasks("1", "remote")
    [record] = store.read_manifest("1", "remote", task).lineage
    assert (record.dataset, record.profile) == ("greeting", "x")


def test_batch_job_keeps_the_profile_and_takes_catalog_base(batch_flow, tmp_path):
    flow = write_project(tmp_path / "proj", FLOW)
    moved = tmp_path / "moved"
    write_project(moved, FLOW, tag=" (moved)")
    result = batch_flow(flow, "run", "--profile", "x", MOVED=str(moved))
    assert result.returncode == 0, result.output
    store = batch_flow.store("CatalogBatchFlow")
    # the job's FLOWKIT_CATALOG_BASE is honoured; the local steps read the recorded folder
    assert end_artifact(store, "1", "local_read") == "x data"
    assert end_artifact(store, "1", "job_read") == "x data (moved)"
    assert end_artifact(store, "1", "job_profile") == "x"
