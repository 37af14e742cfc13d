"""The import contract between layers, written down so it stays true.

Layers only import downwards: cli -> runtime -> (graph, datastore) -> dsl -> errors/settings.
The client (a later layer) reads the datastore and never imports the runtime.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "flowkit"

#: layer -> layers it must never import (at module level or lazily).
FORBIDDEN = {
    "dsl": {"graph", "datastore", "runtime", "cli", "client"},
    "graph": {"datastore", "runtime", "cli", "client"},
    "datastore": {"dsl", "graph", "runtime", "cli", "client"},
    "runtime": {"cli", "client"},
    "client": {"runtime", "cli"},
    "decorators": {"runtime", "cli", "datastore", "client"},
    # Runs flows as subprocesses (the CLI) and reads them with the client.
    "runner_api": {"runtime", "cli"},
}

#: The single sanctioned upward import: ``MyFlow()`` in ``__main__`` hands over to the CLI.
ALLOWED = {("dsl/flowspec.py", "flowkit.cli.flow_cli")}


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_only_downwards(layer):
    folder = PACKAGE / layer
    assert folder.is_dir(), f"no {layer} layer: update FORBIDDEN when a layer moves"
    offences = []
    for path in sorted(folder.rglob("*.py")):
        rel = str(path.relative_to(PACKAGE))
        for name in _imports(path):
            parts = name.split(".")
            if parts[0] == "flowkit" and len(parts) > 1 and parts[1] in FORBIDDEN[layer]:
                if (rel, name) not in ALLOWED:
                    offences.append(f"{rel} imports {name}")
    assert not offences, "layer violations:\n" + "\n".join(offences)


def test_import_flowkit_loads_no_heavy_dependency():
    import subprocess
    import sys

    code = (
        "import sys, flowkit; "
        "print(','.join(m for m in ('pandas', 'fsspec', 'click', 'cloudpickle', 'numpy') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
