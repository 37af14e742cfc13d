"""Plugins add flow commands (``flowcommand.<name>``): made from the flow's CLI state, listed in
``python flow.py --help``, loaded only when listed or invoked."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from flowtests import SHAPE_CASES

from flowkit.cli.flow_cli import FlowCLIState, _build_group
from flowkit.registry import KINDS, registry


def test_a_registered_flow_command_gets_the_flows_state(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made_for: list[FlowCLIState] = []

    def make(flow: FlowCLIState) -> click.Command:
        made_for.append(flow)

        @click.command(name="count-steps", help="How many steps the flow has.")
        def count() -> None:
            click.echo(f"{len(flow.graph().steps)} steps in {flow.flow_file.name}")

        return count

    assert "flowcommand" in KINDS
    monkeypatch.setitem(registry()._builtin["flowcommand"], "count-steps", make)
    monkeypatch.syspath_prepend(str(SHAPE_CASES["linear"].file.parent))
    import linear  # the shape's flow module (its _probe import needs the folder on the path)

    state = FlowCLIState(linear.LinearFlow, Path(linear.__file__))
    group = _build_group(state)
    result = CliRunner().invoke(group, ["count-steps"])
    assert result.exit_code == 0, result.output
    assert result.output == "5 steps in linear.py\n"
    assert made_for == [state]
    assert "count-steps" in CliRunner().invoke(group, ["--help"]).output
    # an unknown command is still click's usual error
    assert CliRunner().invoke(group, ["no-such-command"]).exit_code == 2
