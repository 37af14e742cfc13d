"""Test hooks for the shape flows; they do nothing unless the test sets these variables.

- ``FLOWKIT_TEST_TRACE``: a folder; every executed task leaves a file there named after it.
- ``FLOWKIT_TEST_FAIL``: ``step`` or ``step:i.j`` (foreach indexes); that task raises.
"""

import os
from pathlib import Path

from flowkit import current


def probe(flow):
    """Call first thing in a step."""
    where = ".".join(str(index) for index, _, _ in flow.foreach_stack())
    trace = os.environ.get("FLOWKIT_TEST_TRACE")
    if trace:
        name = f"{current.run_id}-{current.step_name}-{where or '_'}-{os.getpid()}"
        Path(trace, name).touch()
    if os.environ.get("FLOWKIT_TEST_FAIL") in (current.step_name, f"{current.step_name}:{where}"):
        raise RuntimeError(f"planned failure in {current.step_name}:{where}")
