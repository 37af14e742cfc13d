import threading

from flowkit import FlowSpec, step


class UnpFlow(FlowSpec):
    @step
    def start(self):
        self.lock = threading.Lock()
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    UnpFlow()
