"""Compare two runs: ``run_a.diff(run_b)`` or ``flowkit diff FLOW/RUN_A FLOW/RUN_B``.

The diff covers parameters, code (per-file unified diff of the two snapshots), every step's
artifacts (equal by content hash, or different with a typed summary), the datasets the steps
read (catalog lineage) and the first step, in DAG order, whose outputs diverge.
"""

from flowkit.client.diff.compare import diff_runs
from flowkit.client.diff.model import (
    ArtifactDiff,
    DatasetDiff,
    DiffError,
    FileDiff,
    ParameterChange,
    RunDiff,
    StepDiff,
)
from flowkit.client.diff.values import describe, summarize_change

__all__ = [
    "ArtifactDiff",
    "DatasetDiff",
    "DiffError",
    "FileDiff",
    "ParameterChange",
    "RunDiff",
    "StepDiff",
    "describe",
    "diff_runs",
    "summarize_change",
]
