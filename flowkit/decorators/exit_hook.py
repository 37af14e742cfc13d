"""``@exit_hook``: functions called once when a run ends, on success or on failure.

Unlike the ``end`` step, which a failed run never reaches, exit hooks always run: to send a
notification, clean up resources, page someone. They run in the process that started the run,
after its end record is written, so the :class:`~flowkit.client.Run` they receive already shows
the final status. They cannot add artifacts to the run.

A hook is any callable taking no argument or one: the run (``None`` when the run failed before
it was created). A hook that raises is reported as a warning with its traceback; the other hooks
still run, and the run's recorded status and the command's exit code stay the run's own.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, ClassVar

from flowkit.decorators.attach import flow_decorator
from flowkit.decorators.base import DecoratorArgumentError, FlowDecorator

_EXAMPLE = "@exit_hook(on_success=[notify], on_error=[page_someone])"


def takes_run(hook: Callable[..., Any]) -> bool:
    """Whether ``hook`` is called with the run (it accepts one positional argument)."""
    try:
        params = inspect.signature(hook).parameters.values()
    except (TypeError, ValueError):  # some built-ins have no signature: call them bare
        return False
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return any(p.kind in positional or p.kind is inspect.Parameter.VAR_POSITIONAL for p in params)


def _signature_problem(hook: Callable[..., Any]) -> str:
    try:
        params = list(inspect.signature(hook).parameters.values())
    except (TypeError, ValueError):
        return ""
    required = [
        p.name
        for p in params
        if p.default is inspect.Parameter.empty
        and p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    ]
    if len(required) > 1 or any(
        p.kind is inspect.Parameter.KEYWORD_ONLY for p in params if p.name in required
    ):
        return f"requires {', '.join(required)}; a hook is called with the run or nothing"
    return ""


def hook_name(hook: Callable[..., Any]) -> str:
    """A hook's name for messages (``module.function``)."""
    name = getattr(hook, "__qualname__", None) or getattr(hook, "__name__", None) or repr(hook)
    module = getattr(hook, "__module__", None)
    return f"{module}.{name}" if module and module != "__main__" else str(name)


class ExitHookDecorator(FlowDecorator):
    """Call functions when the run ends: ``on_success`` ones if it succeeded, else ``on_error``.

    Args:
        on_success: Callables run after a successful run, in order.
        on_error: Callables run after a failed or interrupted run (or one that could not
            start), in order.
        options: Settings for deployers that run hooks elsewhere; unused by local runs.
    """

    name = "exit_hook"
    defaults: ClassVar[dict[str, Any]] = {"on_success": [], "on_error": [], "options": {}}

    def __init__(self, **attributes: Any) -> None:
        super().__init__(**attributes)
        for key in ("on_success", "on_error"):
            hooks = self.attributes[key]
            if not isinstance(hooks, (list, tuple)):
                raise DecoratorArgumentError(
                    f"@exit_hook: {key}= must be a list of functions, not {type(hooks).__name__}",
                    hint=f"e.g. {_EXAMPLE}",
                )
            for hook in hooks:
                if not callable(hook):
                    raise DecoratorArgumentError(
                        f"@exit_hook: {key}= holds {hook!r}, which is not a function",
                        hint=f"pass the functions themselves, e.g. {_EXAMPLE}",
                    )
                problem = _signature_problem(hook)
                if problem:
                    raise DecoratorArgumentError(
                        f"@exit_hook: the hook {hook_name(hook)} {problem}",
                        hint=f"define it as def {getattr(hook, '__name__', 'hook')}(run): ...",
                    )
            self.attributes[key] = list(hooks)
        if not self.attributes["on_success"] and not self.attributes["on_error"]:
            raise DecoratorArgumentError(
                "@exit_hook has no hook to run",
                hint=f"give on_success= and/or on_error=: {_EXAMPLE}",
            )
        if not isinstance(self.attributes["options"], dict):
            raise DecoratorArgumentError(
                "@exit_hook: options= must be a dict", hint='e.g. options={"image": "..."}'
            )

    def hooks(self, succeeded: bool) -> list[Callable[..., Any]]:
        """The hooks to call for a run that ``succeeded`` (or did not)."""
        return list(self.attributes["on_success" if succeeded else "on_error"])


exit_hook = flow_decorator(ExitHookDecorator)
