"""A small project whose one dataset, ``greeting``, is a different text file in each profile:
what the tests of "which catalog and profile did this task use" run (locally, on Batch, under
Step Functions and Airflow)."""

from __future__ import annotations

import textwrap
from pathlib import Path

GREETING_CATALOG = """
[datasets.greeting]
type = "text"
location = "data/default.txt"

[profiles.x.datasets.greeting]
location = "data/x.txt"

[profiles.y.datasets.greeting]
location = "data/y.txt"
"""


def write_project(
    folder: Path, flow: str, catalog: str | None = GREETING_CATALOG, tag: str = ""
) -> Path:
    """Write ``flow.py``, ``catalog.toml`` (unless ``catalog`` is ``None``) and the data files
    ``data/{default,x,y,other}.txt`` (each reading ``"NAME data"`` + ``tag``) into ``folder``;
    return the flow file."""
    (folder / "data").mkdir(parents=True)
    (folder / "flow.py").write_text(textwrap.dedent(flow))
    if catalog is not None:
        (folder / "catalog.toml").write_text(catalog)
    for name in ("default", "x", "y", "other"):
        (folder / "data" / f"{name}.txt").write_text(f"{name} data{tag}")
    return folder / "flow.py"
