"""What the import contracts cannot say: ``import flowkit`` loads no heavy dependency.

Which layer may import which is declared in ``[tool.importlinter]`` (pyproject.toml) and checked
by ``lint-imports`` in ``test_contracts.py``.
"""

from __future__ import annotations


def test_import_flowkit_loads_no_heavy_dependency():
    # nor scans the plugins' entry points: that waits for a name flowkit does not define
    import subprocess
    import sys

    code = (
        "import sys, flowkit; "
        "print(','.join(m for m in ('pandas', 'fsspec', 'click', 'cloudpickle', 'numpy', "
        "'importlib.metadata', 'flowkit.registry') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
