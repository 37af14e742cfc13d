"""Where errors and progress become messages: the CLI's single place for exit codes, tracebacks
and the lines the runner logs."""

from __future__ import annotations

import logging
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


class _PlainLines(logging.Handler):
    """Writes each record's message as one line to the stderr of the moment, then flushes.

    ``sys.stderr`` is looked up for every record (not kept, as ``logging.StreamHandler`` does)
    so that a redirected stderr receives the lines, as it did when the runner wrote them itself.
    """

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(record.getMessage() + "\n")
            sys.stderr.flush()
        except Exception:  # logging's rule: a failing handler reports, never raises
            self.handleError(record)


def show_progress() -> None:
    """Show the runner's progress and warnings (the ``flowkit`` logger) as plain stderr lines.

    The CLI's own handler only: the records do not also reach handlers a flow file may have
    installed on the root logger, so the output stays the same whatever the flow configures.
    Calling it again changes nothing.
    """
    logger = logging.getLogger("flowkit")
    if not any(isinstance(handler, _PlainLines) for handler in logger.handlers):
        logger.addHandler(_PlainLines())
    logger.setLevel(logging.INFO)
    logger.propagate = False


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
    show_progress()
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
