"""A :class:`RunDiff` for people: the text ``flowkit diff`` prints and a notebook's HTML view."""

from __future__ import annotations

import html
from typing import Any

from flowkit.client.diff.model import ArtifactDiff, RunDiff, StepDiff
from flowkit.client.diff.values import describe, short_repr
from flowkit.client.render import html_card, html_table, short_type

#: Status -> the mark in front of a line (``=`` equal, ``~`` changed, ``-`` a only, ``+`` b only).
MARKS = {"equal": "=", "different": "~", "only_a": "-", "only_b": "+"}
_WORDS = {"equal": "equal", "different": "different", "only_a": "only in a", "only_b": "only in b"}


def verdict(diff: RunDiff) -> str:
    """``"equal"``, or ``"different"`` with where the outputs first diverge."""
    if diff.equal:
        return "equal"
    if diff.first_diverged_step is None:
        return "different (every step's outputs are equal)"
    return f"different; outputs first diverge at step {diff.first_diverged_step}"


def parameter_line(change: Any) -> str:
    """``alpha: 2 -> 3``, ``+ seed: 7`` (only in b) or ``- seed: 7`` (only in a)."""
    if change.status == "only_a":
        return f"{change.name}: {short_repr(change.a, 80)} (only in a)"
    if change.status == "only_b":
        return f"{change.name}: {short_repr(change.b, 80)} (only in b)"
    return f"{change.name}: {short_repr(change.a, 80)} -> {short_repr(change.b, 80)}"


def artifact_line(artifact: ArtifactDiff) -> str:
    """One line for a changed artifact: its type and what changed."""
    kind = short_type(artifact.type_b or artifact.type_a or "")
    if artifact.status != "different":
        return f"{artifact.name} ({kind}): {_WORDS[artifact.status]}"
    where, tasks = "", artifact.tasks
    if len(tasks) > 1:
        where = f" in {len(tasks)} tasks, e.g. {tasks[0]}"
    elif tasks and any(mark in tasks[0] for mark in "[#~"):  # a foreach split or loop pass
        where = f" in {tasks[0]}"
    if not artifact.produced:
        return f"{artifact.name} ({kind}): carried over from an earlier step{where}"
    return f"{artifact.name} ({kind}){where}: {describe(artifact.summary)}"


def step_line(step: StepDiff) -> str:
    """The step's name, status and, for unmatched tasks, which ones."""
    text = f"{step.step}: {_WORDS[step.status]}"
    if step.status in ("only_a", "only_b"):
        count = step.tasks_a or step.tasks_b
        return text + f" ({count} task{'s' if count != 1 else ''})"
    if step.tasks_a != step.tasks_b:
        text += f" ({step.tasks_a} tasks in a, {step.tasks_b} in b)"
    for which, labels in (("a", step.unmatched_a), ("b", step.unmatched_b)):
        if labels:
            shown = ", ".join(labels[:5]) + (" ..." if len(labels) > 5 else "")
            text += f"; only in {which}: {shown}"
    if step.status_changes:
        text += "; task status " + ", ".join(step.status_changes[:5])
    return text


def render_text(diff: RunDiff) -> str:
    """The whole diff as text (what ``flowkit diff`` prints)."""
    lines = [f"Comparing {diff.run_a} (a) with {diff.run_b} (b): {verdict(diff)}"]
    lines += [f"note: {note}" for note in diff.notes]
    lines.append("")
    lines.append("Parameters:" if diff.parameters else "Parameters: equal")
    lines += [f"  {MARKS[p.status]} {parameter_line(p)}" for p in diff.parameters]
    lines.append(f"Code: {len(diff.code)} file(s) differ" if diff.code else "Code: equal")
    for file in diff.code:
        renamed = f" (was {file.path_a})" if file.path_a else ""
        lines.append(f"  {MARKS[file.status]} {file.path}{renamed}")
        lines += ["      " + line for line in file.diff.rstrip("\n").splitlines()]
    changed_data = [d for d in diff.datasets if d.status != "equal"]
    if diff.datasets:
        lines.append(f"Datasets: {len(changed_data)} of {len(diff.datasets)} differ")
        for data in diff.datasets:
            what = f"{data.step}: {data.dataset} ({data.mode or 'read'})"
            if data.status == "different":
                what += ": " + ", ".join(
                    f"{f} {_field(data.a, f)} -> {_field(data.b, f)}" for f in data.changed
                )
            elif data.status != "equal":
                what += f": {_WORDS[data.status]}"
            lines.append(f"  {MARKS[data.status]} {what}")
    lines.append("Steps (in DAG order):")
    for step in diff.steps:
        first = "   <- first divergence" if step.step == diff.first_diverged_step else ""
        lines.append(f"  {MARKS[step.status]} {step_line(step)}{first}")
        carried = []
        for artifact in step.changed_artifacts:
            if artifact.status == "different" and not artifact.produced:
                carried.append(artifact.name)  # summarized where it was set
            else:
                lines.append(f"      {MARKS[artifact.status]} {artifact_line(artifact)}")
        if carried:
            lines.append(f"      ~ carried over from an earlier step: {', '.join(carried)}")
    if diff.first_diverged_step is not None:
        task = diff.first_diverged_task
        shown = f" (task {task})" if task and task != diff.first_diverged_step else ""
        lines.append(f"First diverging step: {diff.first_diverged_step}{shown}")
    return "\n".join(lines)


def _field(entry: dict[str, Any] | None, name: str) -> str:
    value = (entry or {}).get(name)
    text = str(value)
    return text[:12] if name.endswith("hash") and value else text


def render_html(diff: RunDiff) -> str:
    """The diff as an HTML block for notebooks (every value escaped)."""
    fields = [
        ("result", verdict(diff)),
        ("first diverging step", diff.first_diverged_step),
        ("first diverging task", diff.first_diverged_task),
        *(("note", note) for note in diff.notes),
    ]
    sections: list[tuple[str, str]] = []
    if diff.parameters:
        param_rows = [
            (p.name, _WORDS[p.status], short_repr(p.a, 80), short_repr(p.b, 80))
            for p in diff.parameters
        ]
        sections.append(("parameters", html_table(("parameter", "status", "a", "b"), param_rows)))
    if diff.code:
        blocks = "".join(
            f"<div><code>{html.escape(f.path)}</code> ({_WORDS[f.status]})</div>"
            f"<pre>{html.escape(f.diff)}</pre>"
            for f in diff.code
        )
        sections.append(("code", blocks))
    if diff.datasets:
        data_rows = [
            (d.step, d.dataset, d.mode, _WORDS[d.status], ", ".join(d.changed))
            for d in diff.datasets
        ]
        headers = ("step", "dataset", "mode", "status", "changed")
        sections.append(("datasets", html_table(headers, data_rows)))
    rows: list[tuple[Any, ...]] = []
    for step in diff.steps:
        changes = "; ".join(artifact_line(a) for a in step.changed_artifacts)
        mark = " (first divergence)" if step.step == diff.first_diverged_step else ""
        rows.append((step.step + mark, _WORDS[step.status], step.tasks_a, step.tasks_b, changes))
    headers = ("step", "status", "tasks a", "tasks b", "artifacts that differ")
    sections.append(("steps, in DAG order", html_table(headers, rows)))
    return html_card(f"Diff {diff.run_a} -> {diff.run_b}", fields, *sections)
