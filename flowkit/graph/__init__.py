"""The flow's DAG, read statically from the flow's source, and the checks run on it.

This layer knows nothing of the runtime or the datastore.
"""

from flowkit.graph.checks import check_graph
from flowkit.graph.model import FlowGraph, StepNode
from flowkit.graph.parser import parse_flow

__all__ = ["FlowGraph", "StepNode", "check_graph", "load_graph", "parse_flow"]


def load_graph(flow_cls: type) -> FlowGraph:
    """Parse ``flow_cls`` and check it, raising every definition error found at once.

    Raises:
        FlowDefinitionErrors: The flow is malformed.
    """
    from flowkit.errors import FlowDefinitionErrors

    graph, errors = parse_flow(flow_cls)
    if not errors:
        errors = check_graph(graph)
    if errors:
        raise FlowDefinitionErrors(errors)
    return graph
