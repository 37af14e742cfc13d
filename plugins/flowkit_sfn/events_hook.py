"""Where ``create`` and ``delete`` reach the EventBridge side (schedules and rules).

A placeholder until :mod:`flowkit_sfn.events` gains ``deploy_events`` / ``remove_events``
(written on another branch, with exactly these signatures): then this module re-exports them
instead. Until then a flow's ``@schedule`` / ``@trigger`` make nothing on AWS.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def deploy_events(
    flow_cls: type,
    *,
    state_machine_name: str,
    state_machine_arn: str,
    role_arn: str,
    client: Callable[[str], Any],
) -> list[str]:
    """Create or update the flow's schedules and rules; return what was made (none here)."""
    return []


def remove_events(*, state_machine_name: str, client: Callable[[str], Any]) -> list[str]:
    """Remove the schedules and rules of ``state_machine_name``; return what was removed."""
    return []
