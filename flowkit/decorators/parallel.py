"""``@parallel``: a step that runs as a gang of tasks started together and able to talk.

``self.next(self.train, num_parallel=4)`` starts four tasks of the ``@parallel`` step ``train``
at the same time; each reads its place in the gang from ``current.parallel``. The executor that
starts the gang puts the gang's facts in each task's environment, under Metaflow's names and
under the names ``torch.distributed``'s ``env://`` initialisation reads:

==============================  ==========================================================
variable                        value
==============================  ==========================================================
``MF_PARALLEL_MAIN_IP``         address of node 0 (``127.0.0.1`` locally)
``MF_PARALLEL_NUM_NODES``       size of the gang
``MF_PARALLEL_NODE_INDEX``      this task's node index
``MF_PARALLEL_CONTROL_TASK_ID`` task id of node 0
``MASTER_ADDR``/``MASTER_PORT`` node 0's address and a port free there for the rendezvous
``WORLD_SIZE``/``RANK``         size of the gang and this node's index
==============================  ==========================================================

This module is the one place that writes (:func:`gang_environment`) and reads
(:func:`parallel_info`) these variables, so the two cannot drift apart.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, ClassVar

from flowkit.decorators.attach import step_decorator
from flowkit.decorators.base import StepDecorator
from flowkit.dsl.current import Parallel, current
from flowkit.dsl.state import PARALLEL_VAR
from flowkit.errors import FlowDefinitionError, FlowRuntimeError

#: The default rendezvous port where none can be probed (a remote main node): torch's own.
DEFAULT_MAIN_PORT = 29500


def gang_environment(
    main_ip: str, main_port: int | None, num_nodes: int, node_index: int, control_task_id: str
) -> dict[str, str]:
    """The environment variables of one task of a gang (see the module docstring).

    Args:
        main_ip: Address of node 0.
        main_port: Port for the gang's rendezvous on node 0 (``None``: leave MASTER_PORT unset).
        num_nodes: Size of the gang.
        node_index: The task's node index.
        control_task_id: Task id of node 0.
    """
    env = {
        "MF_PARALLEL_MAIN_IP": main_ip,
        "MF_PARALLEL_NUM_NODES": str(num_nodes),
        "MF_PARALLEL_NODE_INDEX": str(node_index),
        "MF_PARALLEL_CONTROL_TASK_ID": control_task_id,
        "MASTER_ADDR": main_ip,
        "WORLD_SIZE": str(num_nodes),
        "RANK": str(node_index),
    }
    if main_port is not None:
        env["MASTER_PORT"] = str(main_port)
    return env


def parallel_info(flow: Any, task_id: str, environ: Mapping[str, str]) -> Parallel:
    """The task's :class:`Parallel` facts, from its foreach frame and its environment.

    The node index and gang size come from the task's own frame, which every launcher passes
    (fork, spawn, Batch); the address, port and control task from the variables above.

    Raises:
        FlowRuntimeError: The task is not part of a gang (the step was not reached through
            ``num_parallel``).
    """
    stack = flow.foreach_stack()
    state = flow.__dict__.get("_fk_state")
    frames = state.foreach if state is not None else []
    if not stack or not frames or frames[-1].var != PARALLEL_VAR:
        raise FlowRuntimeError(
            f"the @parallel step {current.step_name!r} was not started as a gang",
            hint="reach it with self.next(self.STEP, num_parallel=N)",
        )
    index, num_nodes, _ = stack[-1]
    port = environ.get("MASTER_PORT", "")
    control = environ.get("MF_PARALLEL_CONTROL_TASK_ID", "")
    if not control and task_id.isdigit():
        control = str(int(task_id) - index)  # a gang's task ids are consecutive
    return Parallel(
        main_ip=environ.get("MF_PARALLEL_MAIN_IP", "127.0.0.1"),
        num_nodes=num_nodes,
        node_index=index,
        control_task_id=control,
        main_port=int(port) if port.isdigit() else None,
    )


class ParallelDecorator(StepDecorator):
    """Run the step as a gang of ``num_parallel`` tasks started together (see the module).

    Every task of the gang gets ``current.parallel``; if one fails, flowkit stops the others
    and the gang fails as a whole. The step must be followed by a join, which receives the
    gang's results in node order.
    """

    name = "parallel"
    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, **attributes: Any) -> None:
        super().__init__(**attributes)
        self._info: Parallel | None = None

    def task_pre_step(self, flow: Any) -> None:
        # The process runs this one task only: reading its environment here is reading its
        # launch parameters, which the launcher set for exactly this task.
        self._info = parallel_info(flow, str(current.task_id), os.environ)
        current._bind(parallel=self._info)

    def task_record(self) -> dict[str, Any]:
        if self._info is None:
            return {}
        info = self._info
        return {
            "node_index": info.node_index,
            "num_nodes": info.num_nodes,
            "main_ip": info.main_ip,
            "control_task_id": info.control_task_id,
        }

    def step_init(self, graph: Any, node: Any) -> None:
        # The graph check says the same for a decorator written in the source; this catches
        # ``run --with parallel``, which would make every step a gang.
        gang_parents = [p for p in node.parents if graph[p].num_parallel is not None]
        if not gang_parents or len(gang_parents) != len(node.parents):
            raise FlowDefinitionError(
                f"@parallel step {node.name!r} is not started with num_parallel",
                hint=f"reach it with self.next(self.{node.name}, num_parallel=N), and do not "
                "apply @parallel with --with",
                location=self.location or node.location,
            )


parallel = step_decorator(ParallelDecorator)
