"""The built-in flow decorators, by name, for the plugin registry (kind ``flow``)."""

from __future__ import annotations

from flowkit.decorators.base import FlowDecorator
from flowkit.decorators.exit_hook import ExitHookDecorator
from flowkit.decorators.project import ProjectDecorator
from flowkit.decorators.schedule import (
    ScheduleDecorator,
    TriggerDecorator,
    TriggerOnFinishDecorator,
)

BUILTIN_FLOW_DECORATORS: dict[str, type[FlowDecorator]] = {
    cls.name: cls
    for cls in (
        ExitHookDecorator,
        ProjectDecorator,
        ScheduleDecorator,
        TriggerDecorator,
        TriggerOnFinishDecorator,
    )
}
