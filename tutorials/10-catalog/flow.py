"""Score orders: the same code reads a CSV, S3 parquet or a PostgreSQL table, by profile."""

from flowkit import FlowSpec, step


class ScoreOrdersFlow(FlowSpec):
    """Load ``orders``, add a score, save ``scored_orders``."""

    @step
    def start(self):
        orders = self.catalog.load("orders")
        orders["score"] = (orders["amount"] / orders["amount"].max()).round(3)
        self.catalog.save("scored_orders", orders)
        self.total = float(orders["amount"].sum())
        self.next(self.end)

    @step
    def end(self):
        print(f"scored {self.total:.1f} of orders in profile {self.catalog.profile}")


if __name__ == "__main__":
    ScoreOrdersFlow()
