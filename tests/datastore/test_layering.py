"""The datastore's import contract: layers import only downwards, never the upper packages."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import flowkit.datastore

PACKAGE = Path(flowkit.datastore.__file__).parent
# Each module may import only the datastore modules listed for it.
ALLOWED = {
    "backend": set(),
    "local": {"backend"},
    "generic": {"backend"},
    "s3": {"backend", "s3_errors", "s3_requests", "s3_session"},
    "s3_errors": {"s3_requests"},
    "s3_requests": set(),
    "s3_session": set(),
    "storage": {"backend"},
    "content": {"storage"},
    "format": set(),
    "failure": set(),
    "legacy": set(),
    "serialize": {"format"},
    "manifest": {"failure", "format", "legacy", "recordjson"},
    "recordjson": set(),
    "runs": {"storage", "manifest", "format"},
    "tags": {"storage"},
    "environment": {"storage", "content", "format"},
    "flowstore": {"storage", "content", "serialize", "manifest", "tags", "runs", "environment"},
    "ignore": set(),
    "codesnap": {"ignore"},
    "verify": {"flowstore", "manifest", "format"},
    "spinarea": {"content", "flowstore", "manifest", "storage"},
}
FORBIDDEN_PACKAGES = ("flowkit.dsl", "flowkit.graph", "flowkit.runtime", "flowkit.cli")


def _imports(module: str) -> set[str]:
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_every_module_is_covered() -> None:
    modules = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__"}
    assert modules == set(ALLOWED)


@pytest.mark.parametrize("module", sorted(ALLOWED))
def test_module_imports_only_lower_layers(module: str) -> None:
    imported = _imports(module)
    datastore = {n.rsplit(".", 1)[1] for n in imported if n.startswith("flowkit.datastore.")}
    assert datastore <= ALLOWED[module]
    assert not [n for n in imported if n.startswith(FORBIDDEN_PACKAGES)]


def test_importing_the_datastore_loads_no_upper_package() -> None:
    code = (
        "import sys, flowkit.datastore; "
        f"print([m for m in sys.modules if m.startswith({FORBIDDEN_PACKAGES!r})])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=PACKAGE.parent.parent,
    )
    assert out.stdout.strip() == "[]"
