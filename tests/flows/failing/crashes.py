"""A foreach whose split number CRASH_INDEX dies in the way CRASH_MODE says; the others succeed."""

import ctypes
import os
import time

from flowkit import FlowSpec, Parameter, step


class CrashFlow(FlowSpec):
    mode = Parameter("mode", default="raise", help="raise, segfault, exit, memory")

    @step
    def start(self):
        self.items = list(range(4))
        self.next(self.work, foreach="items")

    @step
    def work(self):
        if self.input == 2:
            if self.mode == "raise":
                raise ValueError(f"bad value {self.input * 21}")
            if self.mode == "segfault":
                ctypes.string_at(0)
            if self.mode == "exit":
                os._exit(3)
            if self.mode == "memory":
                self.big = bytearray(1 << 46)
        else:
            time.sleep(0.3)  # the crash happens while these run
        self.value = self.input
        self.next(self.join)

    @step
    def join(self, inputs):
        self.values = [i.value for i in inputs]
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    CrashFlow()
