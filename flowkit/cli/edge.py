"""Where errors become messages: the CLI's single place for exit codes and tracebacks."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from typing import NoReturn

import click

from flowkit.errors import FlowkitError


def debug_from_settings() -> bool:
    """``FLOWKIT_DEBUG`` (or ``debug`` in the config file), read through the settings.

    A broken configuration is reported by whatever command needs it, not here.
    """
    from flowkit.settings import load_settings

    try:
        return load_settings().debug
    except FlowkitError:
        return False


def fail(exc: FlowkitError, debug: bool) -> NoReturn:
    """Print ``exc`` as a short message (with our traceback only in debug mode) and exit."""
    if debug:
        traceback.print_exception(type(exc), exc, exc.__traceback__)
    sys.stderr.write(f"flowkit: {exc.headline}: {exc.format_message()}\n")
    sys.stderr.flush()
    sys.exit(exc.exit_code)


def run_cli(
    command: click.Command, args: list[str], prog_name: str, debug_flag: Callable[[], bool]
) -> NoReturn:
    """Run a click command, turning flowkit and click errors into messages and exit codes."""
    try:
        command.main(args=args, prog_name=prog_name, standalone_mode=False)
    except FlowkitError as exc:
        fail(exc, debug_flag())
    except click.exceptions.Abort:
        sys.stderr.write("Aborted.\n")
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    sys.exit(0)
