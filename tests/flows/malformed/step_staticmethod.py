"""Malformed: a step that is also a staticmethod (flowkit cannot pass it self)."""

from flowkit import FlowSpec, step


class StepStaticmethodFlow(FlowSpec):
    @step
    @staticmethod
    def start():
        pass

    @step
    def end(self):
        pass


if __name__ == "__main__":
    StepStaticmethodFlow()
