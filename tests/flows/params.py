"""Every kind of parameter, echoed into artifacts."""

from flowkit import FlowSpec, IncludeFile, JSONType, Parameter, current, step


def default_name(ctx):
    return f"{ctx.flow_name}-{ctx.parameter_name}"


class ParamFlow(FlowSpec):
    count = Parameter("count", default=3, help="how many")
    ratio = Parameter("ratio", default=0.5, help="a fraction")
    label = Parameter("label", default=default_name, help="computed default")
    verbose = Parameter("verbose", default=False, type=bool, help="a switch")
    config = Parameter("config", default={"k": 1}, type=JSONType, help="json")
    seed = Parameter("seed", required=True, type=int, help="required seed")
    table = IncludeFile("table", default="data.csv", help="a csv file")

    @step
    def start(self):
        self.seen_in_start = current.parameter_names
        self.next(self.end)

    @step
    def end(self):
        self.result = {
            "count": self.count,
            "ratio": self.ratio,
            "label": self.label,
            "verbose": self.verbose,
            "config": self.config,
            "seed": self.seed,
            "table": self.table,
        }


if __name__ == "__main__":
    ParamFlow()
