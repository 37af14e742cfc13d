"""Valid: a foreach inside a foreach, each closed by its own join."""

from flowkit import FlowSpec, step


class NestedForeachFlow(FlowSpec):
    @step
    def start(self):
        self.rows = ["a", "b"]
        self.next(self.row, foreach="rows")

    @step
    def row(self):
        self.row_name = self.input
        self.cols = [1, 2, 3]
        self.next(self.cell, foreach="cols")

    @step
    def cell(self):
        self.label = f"{self.row_name}{self.input}"
        self.next(self.join_cols)

    @step
    def join_cols(self, inputs):
        self.labels = [i.label for i in inputs]
        self.next(self.join_rows)

    @step
    def join_rows(self, inputs):
        self.grid = [i.labels for i in inputs]
        self.next(self.end)

    @step
    def end(self):
        print("grid", self.grid)


if __name__ == "__main__":
    NestedForeachFlow()
