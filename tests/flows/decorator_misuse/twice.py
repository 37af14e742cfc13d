from flowkit import FlowSpec, retry, step


class TwiceFlow(FlowSpec):
    @retry(times=1)
    @retry(times=2)
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    TwiceFlow()
