"""Static checks of a flow graph: every rule a flow must follow before any task runs."""

from __future__ import annotations

from flowkit.errors import FlowDefinitionError, did_you_mean
from flowkit.graph.model import FlowGraph, StepNode
from flowkit.graph.parallel import check_parallel
from flowkit.graph.parser import NEXT_FORMS

Stack = list[tuple[str, str]]


def _err(node: StepNode | None, graph: FlowGraph, message: str, hint: str, line: int = 0):
    location = f"{node.file}:{line or node.line}" if node else graph.location
    return FlowDefinitionError(message, hint=hint, location=location)


def check_graph(graph: FlowGraph) -> list[FlowDefinitionError]:
    """Return every structural problem of ``graph`` (an empty list when the flow is valid).

    Later checks assume earlier ones passed, so they stop at the first failing group.
    """
    groups = (
        _check_ends,
        _check_targets,
        _check_cycles,
        _check_reachable,
        _check_structure,
        _check_loops,
        check_parallel,
    )
    for group in groups:
        errors = group(graph)
        if errors:
            return errors
    return []


def _check_ends(graph: FlowGraph) -> list[FlowDefinitionError]:
    errors = []
    # The parser marks a step without self.next as kind "end"; only the step named end may be.
    no_next = [node for node in graph if node.kind == "end" and node.name != "end"]
    roots = [node.name for node in graph if not node.parents]
    for name, role in (("start", "first"), ("end", "last")):
        if name in graph:
            continue
        hint = f"add the {role} step: @step def {name}(self): ..."
        if name == "start" and len(roots) == 1:
            hint += f" (or rename {roots[0]!r}, which no step leads to, to start)"
        if name == "end" and no_next:
            hint += f" (or rename {no_next[0].name!r}, which does not call self.next, to end)"
        errors.append(_err(None, graph, f"flow {graph.name} has no {name} step", hint))
    if "start" in graph and graph["start"].is_join:
        node = graph["start"]
        errors.append(
            _err(node, graph, "the start step cannot be a join", "declare it as def start(self):")
        )
    if "end" in graph:
        errors.extend(
            _err(
                node,
                graph,
                f"step {node.name!r} does not call self.next",
                f"end the step with self.next(...), e.g. self.next(self.end); forms: {NEXT_FORMS}",
            )
            for node in no_next
        )
    return errors


def _check_targets(graph: FlowGraph) -> list[FlowDefinitionError]:
    errors = []
    for node in graph:
        for target in node.out:
            if target in graph:
                if node.kind == "foreach" and graph[target].is_join:
                    errors.append(
                        _err(
                            node,
                            graph,
                            f"step {node.name!r} fans out with foreach straight into the join "
                            f"{target!r}: there is no step to run for each item",
                            f"add a step between them: self.next(self.work, foreach=...) in "
                            f"{node.name!r}, and def work(self): self.next(self.{target})",
                            node.next_line,
                        )
                    )
                continue
            if target in graph.plain_methods:
                hint = f"add @step above def {target}(self)"
            else:
                hint = ("name an existing step." + did_you_mean(target, graph.steps)).strip()
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
    """Refuse every cycle that a switch branch does not close; mark the ones it does.

    Walking depth first from start, an edge to a step on the current path closes a cycle. It is
    a loop when that edge is a switch branch (``self.next({...}, condition=...)`` going back to
    an earlier step or to the switch itself); any other edge closing a cycle is an error.
    """
    for node in graph:
        node.loops_to = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        path.append(name)
        node = graph[name]
        for child in node.out:
            if state.get(child) == 1:
                if node.kind == "switch":
                    if child not in node.loops_to:
                        node.loops_to.append(child)
                    continue
                return [*path[path.index(child) :], child]
            if child not in state:
                cycle = visit(child)
                if cycle:
                    return cycle
        path.pop()
        state[name] = 2
        return None

    order = ["start", *graph.steps] if "start" in graph else list(graph.steps)
    for name in order:
        if name not in state:
            cycle = visit(name)
            if cycle:
                node = graph[cycle[-2]]
                return [
                    _err(
                        node,
                        graph,
                        f"the steps form a cycle: {' -> '.join(cycle)}",
                        "flows are acyclic except for loops closed by a switch: point "
                        f"{node.name!r} forward, or repeat steps with a switch that goes back, "
                        f'self.next({{"again": self.{cycle[0]}, "done": self.end}}, '
                        'condition="state")',
                        node.next_line,
                    )
                ]
    return []


def _check_loops(graph: FlowGraph) -> list[FlowDefinitionError]:
    """A loop stays inside one foreach split or branch, and never re-enters start or a join."""
    errors = []
    for node in graph:
        for head in node.loops_to:
            target = graph[head]
            where = f"the switch in {node.name!r} goes back to {head!r}"
            if head == "start":
                errors.append(
                    _err(
                        node,
                        graph,
                        f"{where}: the start step runs once per run",
                        "loop back to a step after start instead",
                        node.next_line,
                    )
                )
            elif target.is_join:
                errors.append(
                    _err(
                        node,
                        graph,
                        f"{where}, a join: a loop cannot run a join again without its branches",
                        "loop back to the step that opens the split, or add a step after the "
                        "join and loop to it",
                        node.next_line,
                    )
                )
            elif entry := _side_entry(graph, node.name, head):
                inside, outside = entry
                errors.append(
                    _err(
                        node,
                        graph,
                        f"{where}, but the loop is also entered at {inside!r} (from "
                        f"{outside!r}): a loop has one way in, the step it goes back to",
                        f"lead {outside!r} to {head!r} instead, or loop back to a step that "
                        f"comes before {inside!r} on every path",
                        node.next_line,
                    )
                )
            elif _pop_switches(target.split_stack, graph) != _pop_switches(node.split_stack, graph):
                errors.append(
                    _err(
                        node,
                        graph,
                        f"{where}, across a split or join: a loop must stay inside one "
                        "branch or foreach split",
                        f"loop back to a step between the same split and join as {node.name!r} "
                        "(or loop around the whole split, from a step after its join)",
                        node.next_line,
                    )
                )
    return errors


def _side_entry(graph: FlowGraph, switch: str, head: str) -> tuple[str, str] | None:
    """A step of the loop other than its head that a step outside the loop leads to, if any."""
    body = graph.loop_body(switch, head)
    for name in sorted(body - {head}):
        outside = [p for p in _forward_parents(graph[name], graph) if p not in body]
        if outside:
            return name, outside[0]
    return None


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


def _forward_parents(node: StepNode, graph: FlowGraph) -> list[str]:
    """The parents of ``node`` that lead to it forward (a loop's way back excluded)."""
    return [p for p in node.parents if node.name not in graph[p].loops_to]


def _pop_switches(stack: Stack, graph: FlowGraph) -> Stack:
    while stack and graph[stack[-1][0]].kind == "switch":
        stack = stack[:-1]
    return stack


def _check_structure(graph: FlowGraph) -> list[FlowDefinitionError]:
    errors: list[FlowDefinitionError] = []
    # A step after a wrong join or merge would only echo that error: stay quiet below it.
    tainted: set[str] = set()
    for node in graph.topological():
        found: list[FlowDefinitionError] = []
        # A loop's way back is not where a step's split context comes from.
        parents = _forward_parents(node, graph)
        if node.name == "start":
            node.split_stack = []
        else:
            stacks = [graph[p].split_stack + _branch_of(graph[p], node.name) for p in parents]
            node.split_stack = (
                _join_stack(node, stacks, graph, found)
                if node.is_join
                else _merge_stack(node, stacks, graph, found)
            )
        if any(p in tainted for p in parents):
            tainted.add(node.name)
        elif found:
            tainted.add(node.name)
            errors.extend(found)
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
        errors.append(_never_joined(graph, graph[open_splits[-1][0]]))
    return errors


def _never_joined(graph: FlowGraph, split: StepNode) -> FlowDefinitionError:
    """The error for a split whose branches run on to end: it names the step to turn into a join."""
    end = graph["end"]
    via = next(
        (
            graph[p]
            for p in end.parents
            if any(s == split.name for s, _ in graph[p].split_stack + _branch_of(graph[p], "end"))
        ),
        None,
    )
    if via is None or end.is_join:
        return _err(
            split,
            graph,
            f"the branches opened by {split.name!r} are never joined before end",
            f"add a join step, def join(self, inputs):, that the branches of {split.name!r} "
            "lead to",
            split.next_line,
        )
    message = f"the branches opened by {split.name!r} reach end without a join"
    if via is split:
        hint = (
            f"fan out to a step, then join: self.next(self.work, ...) in {split.name!r}, "
            "def work(self): self.next(self.join), def join(self, inputs): self.next(self.end)"
        )
        return _err(split, graph, message, hint, split.next_line)
    if via.name in split.out:
        hint = f"lead {via.name!r} to a join step, def join(self, inputs):, and that join to end"
        return _err(split, graph, message, hint, split.next_line)
    message = f"the branches opened by {split.name!r} reach end through {via.name!r} without a join"
    hint = f"if {via.name!r} gathers the branches, make it a join: def {via.name}(self, inputs):"
    return _err(via, graph, message, hint)


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
            f"step {node.name!r} is reached from branches "
            f"{', '.join(_forward_parents(node, graph))} "
            "that run in parallel, so it must be a join",
            f"declare it as def {node.name}(self, inputs): and merge the branches "
            "(e.g. self.merge_artifacts(inputs))",
        )
    )
    return popped[0]


def _join_stack(
    node: StepNode, stacks: list[Stack], graph: FlowGraph, errors: list[FlowDefinitionError]
) -> Stack:
    popped = [_pop_switches(s, graph) for s in stacks]
    if any(not s for s in popped):
        switches = sorted({s[-1][0] for s, p in zip(stacks, popped, strict=True) if s and not p})
        if switches:
            message = (
                f"join step {node.name!r} follows the switch {switches[0]!r}, which runs only "
                "one of its branches: there is nothing to join"
            )
            hint = f"declare it as def {node.name}(self): it runs after whichever branch ran"
        else:
            message = f"join step {node.name!r} has no matching split: nothing before it fans out"
            hint = (
                f"declare it as def {node.name}(self): or split earlier with "
                "self.next(self.a, self.b) or foreach="
            )
        errors.append(_err(node, graph, message, hint))
        return []
    splits = {s[-1][0] for s in popped}
    prefixes = {tuple(s[:-1]) for s in popped}
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
        return popped[0][:-1]
    split = graph[splits.pop()]
    node.closes = split.name
    if split.kind == "split":
        node.branch_of_parent = {
            p: split.out.index(s[-1][1])
            for p, s in zip(_forward_parents(node, graph), popped, strict=True)
        }
        # Several parents may share a branch (a switch inside it): compare sets, not lists.
        missing = [b for b in split.out if b not in {s[-1][1] for s in popped}]
        if missing:
            errors.append(
                _err(
                    node,
                    graph,
                    f"join step {node.name!r} joins only some branches of split "
                    f"{split.name!r} (missing: {', '.join(missing)})",
                    f"lead every branch of {split.name!r} to {node.name!r}",
                )
            )
    return popped[0][:-1]
