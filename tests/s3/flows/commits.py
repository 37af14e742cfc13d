"""A foreach whose splits check, from the datastore, that their parent was committed first."""

import os

from flowkit import FlowSpec, Parameter, current, step
from flowkit.datastore import ByteStorage, FlowDatastore


class CommitFlow(FlowSpec):
    width = Parameter("width", default=24)

    @step
    def start(self):
        self.items = list(range(self.width))
        self.next(self.body, foreach="items")

    @step
    def body(self):
        store = FlowDatastore(ByteStorage(current.datastore_root), current.flow_name)
        # Raises RunNotFound (failing the task) if the runner started this task before the
        # manifest of its parent was stored.
        self.parent_status = store.read_manifest(current.run_id, "start", "1", 0).status
        print(f"item {self.input}")
        self.y = self.input * 2
        self.next(self.join)

    @step
    def join(self, inputs):
        if os.environ.get("COMMIT_TEST_FAIL_JOIN"):
            raise RuntimeError("planned failure in join")
        self.total = sum(i.y for i in inputs)
        self.parents_seen = sorted({i.parent_status for i in inputs})
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    CommitFlow()
