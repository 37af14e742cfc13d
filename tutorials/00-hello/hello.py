"""Episode 00: the smallest useful flow.

Run it with:  python tutorials/00-hello/hello.py run
"""

from flowkit import FlowSpec, Parameter, current, step


class HelloFlow(FlowSpec):
    """Greets a few people in parallel and counts the letters it wrote."""

    greeting = Parameter("greeting", default="Hello", help="the word to greet with")

    @step
    def start(self):
        """Pick who to greet."""
        self.names = ["Ada", "Grace", "Katherine"]
        print(f"{current.flow_name} run {current.run_id} starts")
        self.next(self.greet, foreach="names")

    @step
    def greet(self):
        """One task per name: self.input is this task's name."""
        self.message = f"{self.greeting}, {self.input}!"
        print(self.message)
        self.next(self.join)

    @step
    def join(self, inputs):
        """Collect the messages of every greet task."""
        self.messages = [task.message for task in inputs]
        self.letters = sum(len(m) for m in self.messages)
        self.next(self.end)

    @step
    def end(self):
        """Report."""
        print(f"{len(self.messages)} greetings, {self.letters} letters")


if __name__ == "__main__":
    HelloFlow()
