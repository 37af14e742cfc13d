"""One Batch step whose job states can never be read (the fake answers ExpiredTokenException)."""

import time

from flowkit import FlowSpec, batch, step


class StatusOutageFlow(FlowSpec):
    @batch
    @step
    def start(self):
        time.sleep(60)
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    StatusOutageFlow()
