"""A step decorator and a flow decorator implementing every hook, each noting when it ran.

Each call appends ``<hook> <detail> <pid>`` to the file named by ``HOOKS_LOG``: the pid tells
the runner's hooks from the tasks'. ``end`` raises, and ``@hooked`` handles it; with
``HOOKS_FAIL=1`` ``start`` raises an error that nothing handles.
"""

import os

from flowkit import (
    FlowDecorator,
    FlowSpec,
    StepDecorator,
    current,
    flow_decorator,
    step,
    step_decorator,
)


def note(*words):
    with open(os.environ["HOOKS_LOG"], "a") as log:
        log.write(" ".join([*map(str, words), str(os.getpid())]) + "\n")


class HookedDecorator(StepDecorator):
    name = "hooked"
    defaults = {"tag": "t"}

    def step_init(self, graph, node):
        note("step_init", node.name)

    def runtime_init(self, step, say, executor="local"):
        note("runtime_init", step, executor)
        say(f"@hooked is watching {step}")

    def task_environment(self):
        return {"HOOKED_TAG": self.attributes["tag"]}

    def task_pre_step(self, flow):
        note("task_pre_step", current.step_name)

    def task_decorate(self, call):
        def wrapped():
            note("task_decorate", current.step_name)
            call()

        return wrapped

    def task_post_step(self, flow):
        note("task_post_step", current.step_name)

    def task_exception(self, flow, exc):
        note("task_exception", current.step_name, type(exc).__name__)
        return current.step_name == "end"

    def runtime_finished(self, step):
        note("runtime_finished", step)


class NotedDecorator(FlowDecorator):
    name = "noted"
    defaults = {"by": "nobody"}

    def flow_init(self, graph):
        note("flow_init", graph.name, self.attributes["by"])

    def runtime_init(self, say):
        note("flow_runtime_init")
        say(f"@noted by {self.attributes['by']}")

    def runtime_finished(self):
        note("flow_runtime_finished")


hooked = step_decorator(HookedDecorator)
noted = flow_decorator(NotedDecorator)


@noted(by="the test")
class HookedFlow(FlowSpec):
    @hooked(tag="from-the-decorator")
    @step
    def start(self):
        self.tag_seen = os.environ.get("HOOKED_TAG")
        if os.environ.get("HOOKS_FAIL"):
            raise RuntimeError("start fails on purpose")
        self.next(self.end)

    @hooked
    @step
    def end(self):
        raise ValueError("handled by @hooked")


if __name__ == "__main__":
    HookedFlow()
