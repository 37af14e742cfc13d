"""Read past runs from a notebook or a script, the way Metaflow's client does.

```python
from flowkit import Flow, Metaflow, Run, Step, Task, namespace

run = Flow("TrainFlow").latest_run
run.data.model                         # an artifact of the end step, loaded on access
[t.data.score for t in run["train"]]   # every task of a foreach step, in foreach order
Metaflow().flows                       # every flow with runs in the datastore
```

Objects are lazy: creating one reads only its record or manifest, and an artifact's value is
read (one blob, hash-checked) only when ``.data`` is asked for. The client reads the datastore
and never imports the runtime. See :mod:`flowkit.client.context` for how the datastore root is
found, for the namespace rule, and for :class:`ClientContext`, which reads another datastore
(``ClientContext(root).run("TrainFlow/12")``) without changing the global choice.
"""

from flowkit.client.artifacts import ArtifactData, Artifacts, DataArtifact
from flowkit.client.code import RunCode
from flowkit.client.context import (
    ClientContext,
    default_namespace,
    get_metadata,
    get_namespace,
    inspect_spin,
    namespace,
    set_datastore_root,
)
from flowkit.client.flow import Flow, UnreadableRun
from flowkit.client.metaflow import Metaflow
from flowkit.client.run import Run
from flowkit.client.step import Step
from flowkit.client.task import Task, TaskException

__all__ = [
    "ArtifactData",
    "Artifacts",
    "ClientContext",
    "DataArtifact",
    "Flow",
    "Metaflow",
    "Run",
    "RunCode",
    "Step",
    "Task",
    "TaskException",
    "UnreadableRun",
    "default_namespace",
    "get_metadata",
    "get_namespace",
    "inspect_spin",
    "namespace",
    "set_datastore_root",
]
