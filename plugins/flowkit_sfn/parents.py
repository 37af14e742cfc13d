"""A deployed task's inputs, computed from its id: no state of the state machine lists them.

Task ids are ``<step><path>`` or, for a step on a loop, ``<step><path>-p<pass>``, where the
foreach path is ``-<i>`` per enclosing foreach split (``-p<pass>-<i>`` when the foreach itself
is on a loop). From the graph and that id a task knows which tasks ran before it:

* a step after a foreach is split ``i`` of it: its parent is the foreach task one level up, and
  its foreach levels are that task's plus split ``i`` (element fixed by the split index);
* a join of a foreach has one parent per split, the width read from the foreach task's
  manifest (what the state machine iterated over, written by the same task);
* a join of a static split has one parent per branch, at the same path;
* any other step has one parent among its graph parents: the one whose task (at this path, this
  pass, the previous pass for a loop's first step, or the last pass when leaving a loop) exists
  and went on to this step (after a switch several could).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from flowkit.extend import FlowDatastore, FlowGraph, FlowkitError, child_foreach_json

_PASS = re.compile(r"-p(\d+)$")


class TaskInputsNotFound(FlowkitError):
    """The tasks a deployed task takes its inputs from are not in the datastore."""

    exit_code = 2
    headline = "step-functions task"


@dataclass
class TaskInputs:
    """What ``python FLOW.py step`` needs beyond the task's own id.

    Attributes:
        parents: ``run/step/task`` of each parent, in the order the runner would give them.
        foreach_json: The task's foreach levels (``--foreach-json``), ``""`` for none.
        iteration: The pass of a step on a loop.
    """

    parents: list[str] = field(default_factory=list)
    foreach_json: str = ""
    iteration: int = 0


def task_id(graph: FlowGraph, step: str, path: str, pass_: int) -> str:
    """The id of ``step``'s task at foreach ``path`` and loop ``pass_`` (as the machine makes)."""
    return f"{step}{path}-p{pass_}" if step in graph.loop_steps() else f"{step}{path}"


def task_inputs(
    graph: FlowGraph, store: FlowDatastore, run_id: str, step: str, task: str, path: str
) -> TaskInputs:
    """The parents, foreach levels and pass of task ``step/task`` at foreach ``path``.

    Raises:
        TaskInputsNotFound: A parent is missing (the state machine and the code disagree).
    """
    if step == "start":
        return TaskInputs()
    node = graph[step]
    loops = graph.loop_steps()
    found = _PASS.search(task) if step in loops else None
    pass_ = int(found.group(1)) if found else 0
    if node.is_join and node.closes is not None:
        return _join_inputs(graph, store, run_id, node.closes, step, path, pass_)
    for parent in node.parents:
        pnode = graph[parent]
        if pnode.kind == "foreach" and pnode.num_parallel is None and pnode.out == [step]:
            return _split_inputs(graph, store, run_id, parent, path)
    candidates: list[str] = []
    for parent in node.parents:
        pnode = graph[parent]
        if parent in loops and step in pnode.loops_to:
            if pass_ > 0:
                candidates.append(task_id(graph, parent, path, pass_ - 1))
        elif parent in loops and step in loops:
            candidates.append(task_id(graph, parent, path, pass_))
        elif parent in loops:  # leaving a loop: its last pass went on
            candidates += _passes(store, run_id, parent, path)[-1:]
        elif pass_ == 0:  # entering a loop (or no loop): later passes come from the loop
            candidates.append(task_id(graph, parent, path, 0))
    for candidate_step, candidate in _existing(store, run_id, graph, node.parents, candidates):
        manifest = store.read_manifest(run_id, candidate_step, candidate)
        if manifest.status == "succeeded" and step in manifest.next_steps:
            levels = manifest.foreach_stack
            return TaskInputs(
                [f"{run_id}/{candidate_step}/{candidate}"],
                _levels_json(levels),
                pass_,
            )
    raise TaskInputsNotFound(
        f"no parent of task {step}/{task} of run {run_id} went on to it "
        f"(looked for {', '.join(candidates) or 'none'})",
        hint="deploy again (python FLOW.py step-functions create): the state machine and the "
        "flow's code disagree",
    )


def _levels_json(levels: list[Any]) -> str:
    import json

    return json.dumps([level.to_dict() for level in levels]) if levels else ""


def _existing(
    store: FlowDatastore, run_id: str, graph: FlowGraph, steps: list[str], ids: list[str]
) -> list[tuple[str, str]]:
    """The (step, task id) pairs among ``ids`` (each ``<step>...``) that have a manifest."""
    out = []
    for task in ids:
        step = max((s for s in steps if task.startswith(s)), key=len)
        if store.attempts(run_id, step, task):
            out.append((step, task))
    return out


def _passes(store: FlowDatastore, run_id: str, step: str, path: str) -> list[str]:
    """The task ids of ``step``'s passes at ``path``, in pass order."""
    pattern = re.compile(re.escape(f"{step}{path}") + r"-p(\d+)$")
    found = [(int(m.group(1)), t) for t in store.tasks(run_id, step) if (m := pattern.match(t))]
    return [t for _, t in sorted(found)]


def _split_inputs(
    graph: FlowGraph, store: FlowDatastore, run_id: str, foreach: str, path: str
) -> TaskInputs:
    """Split ``i`` (the path's last index) of the foreach task one level up."""
    head, _, index = path.rpartition("-")
    outer, pass_ = head, 0
    looped = _PASS.search(head)
    if foreach in graph.loop_steps() and looped:
        outer, pass_ = head[: looped.start()], int(looped.group(1))
    parent = task_id(graph, foreach, outer, pass_)
    levels = child_foreach_json(store, run_id, foreach, parent, int(index))
    return TaskInputs([f"{run_id}/{foreach}/{parent}"], levels, 0)


def _join_inputs(
    graph: FlowGraph,
    store: FlowDatastore,
    run_id: str,
    split: str,
    join: str,
    path: str,
    pass_: int,
) -> TaskInputs:
    """Every branch or split of ``split`` that ends in ``join``."""
    snode = graph[split]
    ends = graph[join].parents
    if snode.kind == "foreach":
        split_id = task_id(graph, split, path, pass_)
        width = store.read_manifest(run_id, split, split_id).foreach_count or 0
        inner = f"{path}-p{pass_}" if split in graph.loop_steps() else path
        ids = []
        for i in range(width):
            found = _ends_at(graph, store, run_id, ends, f"{inner}-{i}")
            if not found:
                raise TaskInputsNotFound(f"split {i} of {split}/{split_id} has no task ending it")
            ids.append(found)
    else:
        ids = []
        for end in ends:
            found = _ends_at(graph, store, run_id, [end], path, pass_)
            if found:
                ids.append(found)
        ids.sort(key=lambda ref: graph[join].branch_of_parent.get(ref.split("/")[1], 0))
    first = ids[0].split("/")
    levels = store.read_manifest(run_id, first[1], first[2]).foreach_stack
    if snode.kind == "foreach":
        levels = levels[:-1]
    return TaskInputs(ids, _levels_json(levels), pass_)


def _ends_at(
    graph: FlowGraph,
    store: FlowDatastore,
    run_id: str,
    steps: list[str],
    path: str,
    pass_: int = 0,
) -> str | None:
    """``run/step/task`` of the task among ``steps`` at ``path`` that exists (last pass of a
    loop's step)."""
    loops = graph.loop_steps()
    for step in steps:
        if step in loops:
            ids = _passes(store, run_id, step, path)
            if ids:
                return f"{run_id}/{step}/{ids[-1]}"
            continue
        task = task_id(graph, step, path, pass_)
        if store.attempts(run_id, step, task):
            return f"{run_id}/{step}/{task}"
    return None
