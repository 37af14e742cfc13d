"""A flow using the data catalog, steered by environment variables for the tests."""

import os

from flowkit import FlowSpec, step


class LineageFlow(FlowSpec):
    """Load ``orders``, save ``scored_orders``; the end step loads ``orders`` with a snapshot."""

    @step
    def start(self):
        orders = self.catalog.load(os.environ.get("LINEAGE_ORDERS", "orders"))
        self.total = float(orders["amount"].sum())
        scored = orders.assign(score=orders["amount"] * 2)
        if os.environ.get("LINEAGE_BAD_SCHEMA"):
            scored = scored.assign(amount=scored["amount"].astype(str))
        self.catalog.save("scored_orders", scored)
        self.next(self.end)

    @step
    def end(self):
        extra = os.environ.get("LINEAGE_EXTRA_LOAD")
        if extra:
            self.extra_rows = len(self.catalog.load(extra))
        self.snap_total = float(self.catalog.load("orders", snapshot=True)["amount"].sum())
        if os.environ.get("LINEAGE_FAIL_END"):
            raise RuntimeError("end fails on purpose")
        print(f"snap_total {self.snap_total} profile {self.catalog.profile}")


if __name__ == "__main__":
    LineageFlow()
