"""Plugins reach flowkit through one door: ``flowkit.extend`` (plus the top-level user API).

Checked on every module of ``plugins/`` and of the third-party test plugin, with imports made
anywhere in a module (inside functions and ``TYPE_CHECKING`` blocks too), so a plugin cannot
come to depend on flowkit's internal layout.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLUGIN_FOLDERS = [ROOT / "plugins", ROOT / "tests" / "fixtures" / "flowkit_shout"]
#: What a plugin may import from flowkit.
ALLOWED = {"flowkit", "flowkit.extend"}


def _flowkit_imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            # `from flowkit import runtime` would reach a layer through the allowed module
            if node.module == "flowkit":
                found += [(node.lineno, f"flowkit.{alias.name}") for alias in node.names]
    return [(line, name) for line, name in found if name.split(".")[0] == "flowkit"]


def _offences(folder: Path, root: Path = ROOT) -> list[str]:
    import flowkit

    public = set(flowkit.__all__)
    offences = []
    for path in sorted(folder.rglob("*.py")):
        for line, name in _flowkit_imports(path):
            parent, _, leaf = name.rpartition(".")
            if name in ALLOWED or (parent == "flowkit" and leaf in public):
                continue
            offences.append(f"{path.relative_to(root)}:{line} imports {name}")
    return offences


@pytest.mark.parametrize("folder", PLUGIN_FOLDERS, ids=lambda p: p.name)
def test_plugins_import_flowkit_only_through_extend(folder):
    assert list(folder.rglob("*.py")), f"no plugin modules under {folder}"
    offences = _offences(folder)
    assert not offences, "plugins must import flowkit.extend only:\n" + "\n".join(offences)


def test_the_check_catches_an_internal_import(tmp_path):
    (tmp_path / "bad.py").write_text(
        "from flowkit.extend import StepDecorator\n"
        "from flowkit import step, runtime\n"
        "def later():\n"
        "    from flowkit.runtime.spec import TaskSpec\n"
    )
    found = [o.rpartition(" imports ")[2] for o in _offences(tmp_path, tmp_path)]
    assert found == ["flowkit.runtime", "flowkit.runtime.spec"]


def test_extend_exports_resolve_and_stay_light():
    import flowkit.extend

    for name in flowkit.extend.__all__:
        assert getattr(flowkit.extend, name) is not None, name
    # a plugin's decorator module imports flowkit.extend; that must not load the runtime's
    # dependencies before an executor is used
    code = (
        "import sys; from flowkit.extend import StepDecorator, declare_settings, step_decorator; "
        "print(','.join(m for m in ('pandas', 'fsspec', 'click', 'flowkit.runtime.remote') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_no_top_level_plugins_package():
    # plugins/ is a folder of separately named packages, not a package itself
    assert not (ROOT / "plugins" / "__init__.py").exists()
    assert (ROOT / "plugins" / "flowkit_batch" / "__init__.py").is_file()
