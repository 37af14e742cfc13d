"""Text rendering of a flow graph for ``python flow.py show``."""

from __future__ import annotations

from flowkit.graph.model import FlowGraph, StepNode


def _transition(node: StepNode) -> str:
    if node.kind == "end":
        return "(end of flow)"
    if node.num_parallel is not None and node.out:
        return f"=> {node.out[0]}  (gang of num_parallel={node.num_parallel} tasks)"
    if node.kind == "foreach":
        return f"=> {node.out[0]}  (foreach over self.{node.foreach_var})"
    if node.kind == "switch":
        cases = ", ".join(f"{k!r}: {v}" for k, v in node.switch_cases.items())
        loops = f"; loops back to {', '.join(node.loops_to)}" if node.loops_to else ""
        return f"=> one of {{{cases}}}  (switch on self.{node.switch_var}{loops})"
    if node.kind == "split":
        return f"=> {', '.join(node.out)}  (in parallel)"
    return f"=> {node.out[0]}"


def render_graph(graph: FlowGraph) -> str:
    """Describe each step in execution order: its docstring and where it leads."""
    lines = [f"{graph.name}  ({graph.file})"]
    if graph.doc:
        lines += ["", *(f"  {line}" for line in graph.doc.splitlines())]
    for node in graph.topological():
        label = f"Step {node.name}"
        if node.is_join:
            label += "  (join)"
        lines += ["", label]
        for line in (node.doc or "(no docstring)").splitlines():
            lines.append(f"    {line}")
        lines.append(f"    {_transition(node)}")
    return "\n".join(lines)
