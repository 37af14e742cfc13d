"""A foreach over a set on AWS Batch: every array child gets the element its parent assigned."""

from __future__ import annotations

from collections import Counter

from flowtests import FLOWS, end_artifact

SET_ITEMS = FLOWS / "batch" / "set_items.py"


def test_batch_array_children_get_the_elements_the_parent_fixed(batch_flow):
    batch_flow.env.pop("PYTHONHASHSEED", None)  # each job draws its own seed, as on AWS
    result = batch_flow(SET_ITEMS, "run")
    assert result.returncode == 0, result.output
    store = batch_flow.store("BatchSetFlow")
    got = end_artifact(store, "1", "got")
    order = end_artifact(store, "1", "order")
    assert Counter(item for _, item in got) == Counter(f"item{i}" for i in range(12))
    assert all(order[index] == item for index, item in got)
    [array] = [j for j in batch_flow.jobs("BatchSetFlow-1-") if j.get("arrayProperties")]
    assert array["arrayProperties"]["size"] == 12
