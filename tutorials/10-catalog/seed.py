"""Copy the sample orders to wherever the profile keeps ``orders`` (run once per profile)."""

from flowkit import FlowSpec, step


class SeedOrdersFlow(FlowSpec):
    """Load ``raw_orders`` (the local sample) and save it as ``orders``."""

    @step
    def start(self):
        self.catalog.save("orders", self.catalog.load("raw_orders"))
        self.next(self.end)

    @step
    def end(self):
        print(f"orders seeded in profile {self.catalog.profile}")


if __name__ == "__main__":
    SeedOrdersFlow()
