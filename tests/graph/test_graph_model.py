"""What the parser and checks make of valid flows: kinds, targets, which split a join closes."""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path

import pytest

from flowkit.errors import FlowDefinitionErrors
from flowkit.graph import FlowGraph, check_graph, load_graph, parse_flow
from flowkit.graph.parser import attribute_location

VALID = Path(__file__).parents[1] / "flows" / "valid"


def _load_class(path: Path, class_name: str) -> type:
    """Import a flow file as a module (registered, so ``inspect`` can read its source)."""
    module_name = f"_flowkit_test_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return getattr(module, class_name)  # type: ignore[no-any-return]


def _graph(file: str, class_name: str) -> FlowGraph:
    graph, errors = parse_flow(_load_class(VALID / file, class_name))
    assert errors == []
    assert check_graph(graph) == []
    return graph


def _kinds(graph: FlowGraph) -> dict[str, str]:
    return {node.name: node.kind for node in graph}


def test_linear() -> None:
    graph = _graph("linear.py", "LinearFlow")
    assert _kinds(graph) == {"start": "linear", "middle": "linear", "end": "end"}
    assert graph["start"].out == ["middle"]
    assert graph["middle"].parents == ["start"]
    assert graph["end"].out == []
    assert all(node.closes is None and node.split_stack == [] for node in graph)
    assert graph.line == 6 and graph.location.endswith("linear.py:6")
    assert graph["middle"].line == 13 and graph["middle"].next_line == 15


def test_static_split() -> None:
    graph = _graph("static_split.py", "StaticSplitFlow")
    assert graph["start"].kind == "split"
    assert graph["start"].out == ["a", "b", "c"]
    assert graph["b2"].split_stack == [("start", "b")]
    join = graph["join"]
    assert join.is_join and join.closes == "start"
    assert join.branch_of_parent == {"a": 0, "b2": 1, "c": 2}
    assert join.split_stack == [] and graph["end"].split_stack == []


def test_foreach() -> None:
    graph = _graph("foreach.py", "ForeachFlow")
    start = graph["start"]
    assert start.kind == "foreach" and start.foreach_var == "items" and start.out == ["square"]
    assert graph["square"].split_stack == [("start", "*")]
    assert graph["join"].closes == "start"
    assert graph["join"].branch_of_parent == {}


def test_nested_foreach() -> None:
    graph = _graph("nested_foreach.py", "NestedForeachFlow")
    assert _kinds(graph)["row"] == "foreach"
    assert graph["cell"].split_stack == [("start", "*"), ("row", "*")]
    assert graph["join_cols"].closes == "row"
    assert graph["join_cols"].split_stack == [("start", "*")]
    assert graph["join_rows"].closes == "start"
    assert graph["end"].split_stack == []


def test_switch_converging() -> None:
    graph = _graph("switch.py", "SwitchFlow")
    start = graph["start"]
    assert start.kind == "switch" and start.switch_var == "mode"
    assert start.switch_cases == {"fast": "fast", "slow": "slow"}
    assert start.out == ["fast", "slow"]
    report = graph["report"]
    assert not report.is_join and report.closes is None
    assert sorted(report.parents) == ["fast", "slow"]
    assert report.split_stack == []


def test_switch_inside_split_branch() -> None:
    graph = _graph("switch_in_split.py", "SwitchInSplitFlow")
    assert graph["left"].kind == "switch"
    join = graph["join"]
    assert join.closes == "start"
    # Both switch branches stand for the split's first branch.
    assert join.branch_of_parent == {"up": 0, "down": 0, "right": 1}


def test_switch_inside_foreach() -> None:
    graph = _graph("switch_in_foreach.py", "SwitchInForeachFlow")
    assert graph["even"].split_stack == [("start", "*"), ("body", "even")]
    assert graph["join"].closes == "start"


def test_end_as_join() -> None:
    graph = _graph("end_is_join.py", "EndIsJoinFlow")
    assert graph["end"].is_join and graph["end"].closes == "start"
    assert graph["end"].branch_of_parent == {"a": 0, "b": 1}


def test_topological_order() -> None:
    graph = _graph("nested_foreach.py", "NestedForeachFlow")
    order = [node.name for node in graph.topological()]
    assert order[0] == "start" and order[-1] == "end"
    for node in graph:
        for child in node.out:
            assert order.index(node.name) < order.index(child)


def test_several_errors_are_reported_together(tmp_path: Path) -> None:
    path = tmp_path / "two_mistakes.py"
    path.write_text(
        textwrap.dedent(
            """
            from flowkit import FlowSpec, Parameter, step


            class TwoMistakesFlow(FlowSpec):
                alpha = Parameter("alpha", default=1)

                @step
                def start(self):
                    self.index = 1
                    self.next(self._work)

                @step
                def _work(self):
                    self.next(self.end)

                @step
                def end(self):
                    pass
            """
        )
    )
    flow_cls = _load_class(path, "TwoMistakesFlow")
    with pytest.raises(FlowDefinitionErrors) as caught:
        load_graph(flow_cls)
    locations = [e.location for e in caught.value.errors]
    assert [loc.rsplit(":", 1)[1] for loc in locations] == ["10", "14"]
    assert attribute_location(flow_cls, "alpha").endswith("two_mistakes.py:6")


LOOPS = Path(__file__).parents[1] / "flows" / "loops"
SHAPES = Path(__file__).parents[1] / "flows" / "shapes"


def _loop_graph(path: Path, class_name: str) -> FlowGraph:
    sys.path.insert(0, str(path.parent))  # the shape flows import their _probe helper
    try:
        graph, errors = parse_flow(_load_class(path, class_name))
    finally:
        sys.path.remove(str(path.parent))
    assert errors == []
    assert check_graph(graph) == []
    return graph


def test_self_loop_is_marked_and_ordered() -> None:
    graph = _loop_graph(SHAPES / "recursive_switch.py", "RecursiveSwitchFlow")
    assert graph["loop_step"].loops_to == ["loop_step"]
    assert graph["loop_step"].forward_out == ["exit_loop"]
    assert graph.loop_steps() == {"loop_step"}
    assert [n.name for n in graph.topological()] == ["start", "loop_step", "exit_loop", "end"]


def test_loop_through_two_steps() -> None:
    graph = _loop_graph(LOOPS / "two_step_loop.py", "TwoStepLoopFlow")
    assert graph["check"].loops_to == ["body"]
    assert graph["body"].loops_to == []
    assert graph.loop_steps() == {"body", "check"}
    assert [n.name for n in graph.topological()] == ["start", "body", "check", "end"]


def test_loop_inside_foreach_keeps_the_split_context() -> None:
    graph = _loop_graph(SHAPES / "recursive_switch_inside_foreach.py", "RecursiveForeachFlow")
    assert graph["loop_body"].loops_to == ["loop_body"]
    assert graph["loop_body"].split_stack == [("start", "*")]
    assert graph["join"].closes == "start"
    assert graph.loop_steps() == {"loop_body"}


def test_loop_around_a_foreach_repeats_the_whole_split() -> None:
    graph = _loop_graph(LOOPS / "loop_around_foreach.py", "LoopAroundForeachFlow")
    assert graph["gather"].loops_to == ["fan"]
    assert graph.loop_steps() == {"fan", "work", "gather"}
    assert graph["gather"].closes == "fan"
