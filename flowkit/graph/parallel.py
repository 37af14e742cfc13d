"""Static checks of ``@parallel`` gangs: ``self.next(self.x, num_parallel=N)`` and its target.

A gang is a fan-out (kind ``foreach``) whose target is a ``@parallel`` step that leads straight
to the join collecting the gang's results, as in Metaflow.
"""

from __future__ import annotations

from flowkit.errors import FlowDefinitionError
from flowkit.graph.model import FlowGraph, StepNode

#: Decorators a gang step cannot have: a gang is restarted or caught as a whole, not per node.
_PER_TASK_ONLY = ("retry", "catch")


def _error(node: StepNode, message: str, hint: str, line: int = 0) -> FlowDefinitionError:
    return FlowDefinitionError(message, hint=hint, location=f"{node.file}:{line or node.line}")


def check_parallel(graph: FlowGraph) -> list[FlowDefinitionError]:
    """Every misuse of ``num_parallel`` and ``@parallel`` in ``graph`` (empty when valid)."""
    errors: list[FlowDefinitionError] = []
    starters = {n.out[0]: n for n in graph if n.num_parallel is not None and n.out}
    for node in graph:
        if node.num_parallel is not None and node.out:
            errors += _check_gang(graph, node, graph[node.out[0]])
        elif "parallel" in node.decorators and node.name not in starters:
            errors.append(
                _error(
                    node,
                    f"step {node.name!r} is @parallel but no step starts it with num_parallel",
                    f"start it with self.next(self.{node.name}, num_parallel=N), or remove "
                    "@parallel",
                )
            )
    return errors


def _check_gang(graph: FlowGraph, starter: StepNode, target: StepNode) -> list[FlowDefinitionError]:
    name = target.name
    if "parallel" not in target.decorators:
        return [
            _error(
                starter,
                f"step {starter.name!r} starts {name!r} with num_parallel, but {name!r} is not "
                "@parallel",
                f"add @parallel above @step on def {name}(self):",
                starter.next_line,
            )
        ]
    errors = []
    others = [p for p in target.parents if p != starter.name]
    if others:
        errors.append(
            _error(
                target,
                f"@parallel step {name!r} is also reached from {', '.join(others)} without "
                "num_parallel",
                f"reach {name!r} only through self.next(self.{name}, num_parallel=N)",
            )
        )
    joins = [s for s in target.out if s in graph and graph[s].is_join]
    if target.kind != "linear" or not joins:
        errors.append(
            _error(
                target,
                f"@parallel step {name!r} must lead straight to a join step",
                "end it with self.next(self.join) and declare def join(self, inputs):, which "
                "receives the gang's results",
                target.next_line,
            )
        )
    for deco in _PER_TASK_ONLY:
        if deco in target.decorators:
            errors.append(
                _error(
                    target,
                    f"@{deco} cannot be used on the @parallel step {name!r}: a gang fails as a "
                    "whole and flowkit does not restart or catch single nodes",
                    f"remove @{deco}; after fixing a failure, resume the run, which runs the "
                    "whole gang again",
                )
            )
    return errors
