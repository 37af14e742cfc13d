"""Static checks of a flow graph: every rule a flow must follow before any task runs."""

from __future__ import annotations

from flowkit.errors import FlowDefinitionError, did_you_mean
from flowkit.graph.model import FlowGraph, StepNode

Stack = list[tuple[str, str]]


def _err(node: StepNode | None, graph: FlowGraph, message: str, hint: str, line: int = 0):
    location = f"{node.file}:{line or node.line}" if node else graph.file
    return FlowDefinitionError(message, hint=hint, location=location)


def check_graph(graph: FlowGraph) -> list[FlowDefinitionError]:
    """Return every structural problem of ``graph`` (an empty list when the flow is valid).

    Later checks assume earlier ones passed, so they stop at the first failing group.
    """
    for group in (_check_ends, _check_targets, _check_cycles, _check_reachable, _check_structure):
        errors = group(graph)
        if errors:
            return errors
    return []


def _check_ends(graph: FlowGraph) -> list[FlowDefinitionError]:
    errors = []
    for name, role in (("start", "first"), ("end", "last")):
        if name not in graph:
            errors.append(
                _err(
                    None,
                    graph,
                    f"flow {graph.name} has no {name} step",
                    f"add the {role} step: @step def {name}(self): ...",
                )
            )
    if "start" in graph and graph["start"].is_join:
        node = graph["start"]
        errors.append(_err(node, graph, "the start step cannot be a join", "def start(self):"))
    return errors


def _check_targets(graph: FlowGraph) -> list[FlowDefinitionError]:
    errors = []
    for node in graph:
        for target in node.out:
            if target in graph:
                continue
            if target in graph.plain_methods:
                hint = f"add @step above def {target}(self)"
            else:
                hint = (
                    "name an existing step." + did_you_mean(target, graph.steps)
                ).strip()
            errors.append(
                _err(
                    node,
                    graph,
                    f"step {node.name!r} calls self.next(self.{target}), but {target!r} "
                    "is not a step of this flow",
                    hint,
                    node.next_line,
                )
            )
    return errors


def _check_cycles(graph: FlowGraph) -> list[FlowDefinitionError]:
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        path.append(name)
        for child in graph[name].out:
            if state.get(child) == 1:
                return [*path[path.index(child) :], child]
            if child not in state:
                cycle = visit(child)
                if cycle:
                    return cycle
        path.pop()
        state[name] = 2
        return None

    for name in graph.steps:
        if name not in state:
            cycle = visit(name)
            if cycle:
                node = graph[cycle[-2]]
                return [
                    _err(
                        node,
                        graph,
                        f"the steps form a cycle: {' -> '.join(cycle)}",
                        "flows are acyclic: point the last step of the loop forward instead "
                        "(use foreach to repeat work)",
                        node.next_line,
                    )
                ]
    return []


def _check_reachable(graph: FlowGraph) -> list[FlowDefinitionError]:
    reachable = graph.descendants("start")
    errors = [
        _err(
            node,
            graph,
            f"step {node.name!r} is never reached from start",
            f"call self.next(self.{node.name}) from an earlier step, or delete it",
        )
        for node in graph
        if node.name not in reachable
    ]
    if not errors and "end" not in graph.descendants("start"):
        errors.append(_err(graph["end"], graph, "end is never reached", "lead a step to end"))
    return errors


def _pop_switches(stack: Stack, graph: FlowGraph) -> Stack:
    while stack and graph[stack[-1][0]].kind == "switch":
        stack = stack[:-1]
    return stack


def _check_structure(graph: FlowGraph) -> list[FlowDefinitionError]:
    errors: list[FlowDefinitionError] = []
    for node in graph.topological():
        if node.name == "start":
            node.split_stack = []
        else:
            stacks = [graph[p].split_stack + _branch_of(graph[p], node.name) for p in node.parents]
            node.split_stack = (
                _join_stack(node, stacks, graph, errors)
                if node.is_join
                else _merge_stack(node, stacks, graph, errors)
            )
        if node.is_join and node.kind in ("split", "foreach"):
            errors.append(
                _err(
                    node,
                    graph,
                    f"join step {node.name!r} also splits; a step cannot join and split at once",
                    f"add a separate step after {node.name!r} that does the split",
                    node.next_line,
                )
            )
    end = graph["end"]
    open_splits = _pop_switches(end.split_stack, graph)
    if open_splits and not errors:
        split = graph[open_splits[-1][0]]
        errors.append(
            _err(
                split,
                graph,
                f"the branches opened by {split.name!r} are never joined before end",
                "add a join step, def join(self, inputs):, that the branches lead to",
            )
        )
    return errors


def _branch_of(parent: StepNode, child: str) -> Stack:
    if parent.kind in ("split", "foreach", "switch"):
        return [(parent.name, child if parent.kind != "foreach" else "*")]
    return []


def _merge_stack(
    node: StepNode, stacks: list[Stack], graph: FlowGraph, errors: list[FlowDefinitionError]
) -> Stack:
    if all(s == stacks[0] for s in stacks):
        return stacks[0]
    popped = [_pop_switches(s, graph) for s in stacks]
    if all(s == popped[0] for s in popped):
        return popped[0]
    errors.append(
        _err(
            node,
            graph,
            f"step {node.name!r} is reached from branches {', '.join(node.parents)} "
            "that run in parallel, so it must be a join",
            f"declare it as def {node.name}(self, inputs): and merge the branches "
            "(e.g. self.merge_artifacts(inputs))",
        )
    )
    return popped[0]


def _join_stack(
    node: StepNode, stacks: list[Stack], graph: FlowGraph, errors: list[FlowDefinitionError]
) -> Stack:
    stacks = [_pop_switches(s, graph) for s in stacks]
    if any(not s for s in stacks):
        errors.append(
            _err(
                node,
                graph,
                f"join step {node.name!r} has no matching split: nothing before it fans out",
                f"declare it as def {node.name}(self): or split earlier with "
                "self.next(self.a, self.b) or foreach=",
            )
        )
        return []
    splits = {s[-1][0] for s in stacks}
    prefixes = {tuple(s[:-1]) for s in stacks}
    if len(splits) > 1 or len(prefixes) > 1:
        errors.append(
            _err(
                node,
                graph,
                f"join step {node.name!r} joins unrelated branches "
                f"(opened by {', '.join(sorted(splits))}): a join closes exactly one split",
                "join each split's branches in its own join step, then join those",
            )
        )
        return stacks[0][:-1]
    split = graph[splits.pop()]
    node.closes = split.name
    if split.kind == "split":
        node.branch_of_parent = {
            p: split.out.index(s[-1][1]) for p, s in zip(node.parents, stacks)
        }
    branches = sorted(s[-1][1] for s in stacks)
    if split.kind == "split" and branches != sorted(split.out):
        missing = sorted(set(split.out) - set(branches))
        errors.append(
            _err(
                node,
                graph,
                f"join step {node.name!r} joins only some branches of split {split.name!r} "
                f"(missing: {', '.join(missing)})",
                f"lead every branch of {split.name!r} to {node.name!r}",
            )
        )
    return stacks[0][:-1]
