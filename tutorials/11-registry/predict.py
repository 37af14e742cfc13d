"""Episode 11: use whatever model is in production, wherever it came from."""

import flowkit

champion = flowkit.Model("churn@champion")
print(f"champion is {champion.version.ref}, made by {champion.version.pathspec}")
print(f"prediction for x=10: {champion.load()['slope'] * 10:g}")
