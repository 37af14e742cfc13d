"""``--with environment`` values reach Batch jobs but never the datastore (not even the plan)."""

from __future__ import annotations

import gzip
import json

from flowtests import FLOWS, end_artifact

SECRET = "batch-s3cr3t-5e0c"
FLOW = FLOWS / "batch" / "secret_fanout.py"


def test_with_environment_values_stay_out_of_the_stored_plan(batch_flow):
    given = "environment:vars=" + json.dumps({"BATCH_TOKEN": SECRET})
    result = batch_flow(FLOW, "run", "--with", given)
    assert result.returncode == 0, result.output
    store = batch_flow.store("BatchSecretFlow")
    assert end_artifact(store, "1", "seen") == [True, True, True]
    [array] = [j for j in batch_flow.jobs("BatchSecretFlow-1-") if j.get("arrayProperties")]
    assert "--plan" in array["container"]["command"]  # the array job did use a stored plan

    fs = store.storage.fs
    keys = fs.find(batch_flow.url.removeprefix("s3://"))
    assert keys
    for key in keys:
        data = fs.cat_file(key)
        if data[:2] == b"\x1f\x8b":
            data += gzip.decompress(data)
        assert SECRET.encode() not in data, f"{SECRET} stored in {key}"
