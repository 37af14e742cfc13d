"""How the Runner reads a flow file's parameters without importing it."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowkit.errors import ParameterError
from flowkit.runner_api.params import parameter_args, read_flow_parameters


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "flow.py"
    path.write_text(text)
    return path


def test_module_code_is_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "imported"
    flow = _write(
        tmp_path,
        f"from pathlib import Path\nPath({str(marker)!r}).touch()\n"
        "import flowkit\n"
        "def today():\n    return 'x'\n"
        "class Base(flowkit.FlowSpec):\n"
        "    size = flowkit.Parameter('size', default=3)\n"
        "class Child(Base):\n"
        "    day = flowkit.Parameter('day', default=today)\n"
        "    rate = flowkit.Parameter('rate', type=float, default=lambda: 0.1)\n"
        "if __name__ == '__main__':\n    Child()\n",
    )
    found = read_flow_parameters(flow)
    assert not marker.exists()
    assert found.flow_name == "Child"
    assert sorted(found.params) == ["day", "rate", "size"]  # inherited from a class in the file
    assert found.complete
    assert parameter_args(found, {"size": 4, "day": "monday", "rate": 2}, "run") == [
        "--size", "4", "--day", "monday", "--rate", "2",
    ]  # fmt: skip
    with pytest.raises(ParameterError, match="expects float"):
        parameter_args(found, {"rate": "fast"}, "run")


def test_a_base_class_from_elsewhere_leaves_unknown_names_to_the_cli(tmp_path: Path) -> None:
    flow = _write(
        tmp_path,
        "from flowkit import Parameter, step\nfrom mylib import TeamFlow\n"
        "class MyFlow(TeamFlow):\n    alpha = Parameter('alpha', default=1)\n"
        "    @step\n    def start(self):\n        self.next(self.end)\n",
    )
    found = read_flow_parameters(flow)
    assert not found.complete
    # maybe a parameter of TeamFlow: passed on, the flow's own CLI decides
    assert parameter_args(found, {"team_size": 5}, "run") == ["--team-size", "5"]
    with pytest.raises(ParameterError, match="expects int"):
        parameter_args(found, {"alpha": "one"}, "run")


def test_a_file_without_a_flow_is_refused(tmp_path: Path) -> None:
    from flowkit.errors import FlowDefinitionError

    with pytest.raises(FlowDefinitionError, match="defines no FlowSpec subclass"):
        read_flow_parameters(_write(tmp_path, "x = 1\n"))
    with pytest.raises(FlowDefinitionError, match="not valid Python"):
        read_flow_parameters(_write(tmp_path, "class (:\n"))
