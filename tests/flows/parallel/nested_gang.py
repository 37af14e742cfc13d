"""A gang in each split of a foreach: two gangs, each joined on its own, then the groups."""

from flowkit import FlowSpec, current, parallel, step


class NestedGangFlow(FlowSpec):
    @step
    def start(self):
        self.groups = ["a", "b"]
        self.next(self.setup, foreach="groups")

    @step
    def setup(self):
        self.group = self.input
        self.next(self.train, num_parallel=2)

    @parallel
    @step
    def train(self):
        p = current.parallel
        self.tag = (self.group, p.node_index, p.num_nodes, p.control_task_id, current.task_id)
        self.next(self.gang_join)

    @step
    def gang_join(self, inputs):
        self.tags = [i.tag for i in inputs]
        self.next(self.group_join)

    @step
    def group_join(self, inputs):
        self.all = [i.tags for i in inputs]
        self.next(self.end)

    @step
    def end(self):
        self.result = self.all


if __name__ == "__main__":
    NestedGangFlow()
