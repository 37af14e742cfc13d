"""Two decorators defined in the flow file record data in the task's manifest (one badly)."""

from typing import Any

from flowkit import FlowSpec, StepDecorator, step, step_decorator


class StampDecorator(StepDecorator):
    name = "stamp"
    defaults = {"label": "x"}

    def task_record(self) -> dict[str, Any]:
        return {"label": self.attributes["label"], "sizes": [1, 2]}


class BrokenDecorator(StepDecorator):
    name = "broken"
    defaults: dict[str, Any] = {}

    def task_record(self) -> dict[str, Any]:
        return {"not json": object()}


stamp = step_decorator(StampDecorator)
broken = step_decorator(BrokenDecorator)


class RecordingFlow(FlowSpec):
    @stamp(label="first")
    @broken
    @step
    def start(self):
        self.value = 1
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    RecordingFlow()
