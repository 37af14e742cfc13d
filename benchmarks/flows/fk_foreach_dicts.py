"""Benchmark flow (flowkit): a foreach over small dicts (~1 KB each), for bench_foreach_scale.py."""

from flowkit import FlowSpec, Parameter, step


class ForeachDictsBench(FlowSpec):
    width = Parameter("width", default=1000, help="number of foreach splits")

    @step
    def start(self):
        self.rows = [
            {"id": i, "name": f"row{i}", "payload": f"{i:010d}" * 100} for i in range(self.width)
        ]
        self.next(self.body, foreach="rows")

    @step
    def body(self):
        self.size = len(self.input["payload"])
        self.next(self.join)

    @step
    def join(self, inputs):
        self.total = sum(i.size for i in inputs)
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    ForeachDictsBench()
