"""Read past runs from a notebook or a script, the way Metaflow's client does.

```python
from flowkit import Flow, Run, Step, Task, namespace

run = Flow("TrainFlow").latest_run
run.data.model                         # an artifact of the end step, loaded on access
[t.data.score for t in run["train"]]   # every task of a foreach step, in foreach order
```

Objects are lazy: creating one reads only its record or manifest, and an artifact's value is
read (one blob, hash-checked) only when ``.data`` is asked for. The client reads the datastore
and never imports the runtime. See :mod:`flowkit.client.context` for how the datastore root is
found and for the namespace rule.
"""

from flowkit.client.artifacts import ArtifactData, Artifacts, DataArtifact
from flowkit.client.code import RunCode
from flowkit.client.context import (
    ClientContext,
    default_namespace,
    get_metadata,
    get_namespace,
    namespace,
    set_datastore_root,
)
from flowkit.client.flow import Flow, UnreadableRun
from flowkit.client.run import Run
from flowkit.client.step import Step
from flowkit.client.task import Task, TaskException

__all__ = [
    "ArtifactData",
    "Artifacts",
    "ClientContext",
    "DataArtifact",
    "Flow",
    "Run",
    "RunCode",
    "Step",
    "Task",
    "TaskException",
    "UnreadableRun",
    "default_namespace",
    "get_metadata",
    "get_namespace",
    "namespace",
    "set_datastore_root",
]
