"""The user-facing flow language: ``FlowSpec``, ``step``, ``Parameter``, ``current``.

This layer knows nothing of storage or scheduling: the runtime hands each flow instance a
:class:`~flowkit.dsl.state.TaskState` that says where its artifacts come from.
"""

from flowkit.dsl.current import current
from flowkit.dsl.flowspec import FlowSpec
from flowkit.dsl.parameters import IncludeFile, JSONType, Parameter
from flowkit.dsl.step import is_step, step

__all__ = ["FlowSpec", "IncludeFile", "JSONType", "Parameter", "current", "is_step", "step"]
