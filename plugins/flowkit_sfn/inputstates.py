"""The execution input of a flow's state machine: its parameters, checked by the first states.

There is no runner to resolve the parameters, so they come from the execution input,
``{"parameters": {"<name>": <value>, ...}}``. The first state, a ``Choice``, fails the execution
(``flowkit.MissingParameter``) when a required parameter without a default is absent (or, for a
flow without such parameters, supplies ``{}`` when the input has no ``parameters``); ``init``
then keeps them as one JSON string (``States.JsonToString``) that only the start step's command
receives, as ``--param-json``; the job applies the defaults of the parameters the input omits.
The machine's ``Comment`` lists the input keys expected. The start task is also given the
whole execution input (``--execution-input``), for the ``trigger`` object an EventBridge rule
or schedule puts next to ``parameters`` (``current.trigger`` in the steps).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flowkit import IncludeFile, Parameter
from flowkit.extend import flow_parameters as declared_parameters

#: The ``Error`` of the execution when its input lacks a required parameter.
MISSING_PARAMETER = "flowkit.MissingParameter"
#: The first state, checking the execution input (a hyphen: no step can have this name).
INPUT_STATE = "flowkit-input"


def flow_parameters(flow_cls: type) -> list[Parameter]:
    """The ``Parameter`` (and ``IncludeFile``) declarations of ``flow_cls`` and its bases."""
    return list(declared_parameters(flow_cls).values())


def _required(parameters: Sequence[Parameter]) -> list[Parameter]:
    """Parameters an execution must be given: required, without a default."""
    return [p for p in parameters if p.required and p.default is None]


def input_comment(parameters: Sequence[Parameter]) -> str:
    """The execution input expected, in words (the machine's ``Comment``)."""
    if not parameters:
        return "execution input: none needed"
    required = {p.name for p in _required(parameters)}

    def listing(names: list[str]) -> str:
        return ", ".join(names) or "none"

    kinds = {p.name: "file path" if isinstance(p, IncludeFile) else p.type_name for p in parameters}
    return (
        'execution input: {"parameters": {"<name>": <value>, ...}}; '
        f"required: {listing([f'{n} ({kinds[n]})' for n in kinds if n in required])}; "
        f"optional: {listing([f'{n} ({kinds[n]})' for n in kinds if n not in required])}"
    )


def _input_path(name: str) -> str:
    """The JSONPath of parameter ``name`` in the execution input."""
    return f"$.parameters.{name}" if name.isidentifier() else f"$.parameters['{name}']"


def input_states(parameters: Sequence[Parameter]) -> dict[str, Any]:
    """The states checking the execution input before ``init``."""
    required = _required(parameters)
    if not required:
        # nothing required: an input without "parameters" means all defaults
        return {
            INPUT_STATE: {
                "Type": "Choice",
                "Choices": [{"Variable": "$.parameters", "IsPresent": True, "Next": "init"}],
                "Default": "flowkit-no-parameters",
            },
            "flowkit-no-parameters": {
                "Type": "Pass",
                "Comment": "no parameters given: the job uses every default",
                "Result": {"parameters": {}},
                "Next": "init",
            },
        }
    rules = [{"Variable": _input_path(p.name), "IsPresent": True} for p in required]
    names = ", ".join(p.name for p in required)
    return {
        INPUT_STATE: {
            "Type": "Choice",
            "Choices": [{**(rules[0] if len(rules) == 1 else {"And": rules}), "Next": "init"}],
            "Default": "flowkit-missing-parameters",
        },
        "flowkit-missing-parameters": {
            "Type": "Fail",
            "Error": MISSING_PARAMETER,
            "Cause": f'start the execution with input {{"parameters": {{...}}}} giving {names}',
        },
    }
