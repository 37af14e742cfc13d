"""Reading task manifests of format 0, written before the storage format was versioned.

Format 0 kept several core facts in a free-form ``extra`` dict and described a failure without a
kind. Users have past runs in that format, so a reader converts such a manifest to the shape of
format 1 before validating it, instead of refusing it. The conversion runs only on old records;
records written by this flowkit never take this path.
"""

from __future__ import annotations

from typing import Any

# Format 0 recorded no failure kind: it is recovered once, here, from the names the runtime of
# that time used. Decisions are then made on the kind, never on these names.
_KIND_OF_TYPE = {
    "TaskTimeout": "timeout",
    "TaskCrashed": "crashed",
    "Killed": "killed",
    "KeyboardInterrupt": "interrupted",
    "StatusUnavailable": "lost",
    "SubmitError": "submit",
    "ArtifactWriteError": "storage",
    "DatastoreWriteError": "storage",
    "UnpicklableArtifact": "unpicklable",
    "FlowRuntimeError": "flow",
}
_EXTRA_FIELDS = ("foreach_var", "caught", "log_origin", "decorators", "resources")


def failure_kind_v0(exception: dict[str, Any]) -> str:
    """The kind of a format-0 failure, guessed from its type (and, for a crash, its signal)."""
    type_name = str(exception.get("type", ""))
    kind = _KIND_OF_TYPE.get(type_name, "exception")
    message = str(exception.get("message", ""))
    if kind == "crashed" and ("signal SIGTERM" in message or "signal SIGINT" in message):
        kind = "interrupted"
    return kind


def upgrade_manifest_v0(raw: dict[str, Any]) -> dict[str, Any]:
    """A format-0 task manifest (parsed JSON) in the shape of format 1.

    Values are moved, not checked: the caller validates the result like any other record, so a
    damaged old record is reported the same way as a damaged new one.
    """
    out = dict(raw)
    out["format_version"] = "0.0"
    out["written_by"] = ""
    extra = out.pop("extra", None)
    extra = extra if isinstance(extra, dict) else {}
    for name in _EXTRA_FIELDS:
        if name in extra:
            out[name] = extra[name]
    levels = extra.get("foreach")
    frames = out.get("foreach_stack")
    if isinstance(levels, list) and isinstance(frames, list) and len(levels) == len(frames):
        # The full levels (with var and element) replace the short frames of the same tasks.
        out["foreach_stack"] = [_frame_v0(level) for level in levels]
    exception = out.pop("exception", None)
    if isinstance(exception, dict):
        out["failure"] = {
            "kind": failure_kind_v0(exception),
            "type": exception.get("type", ""),
            "message": exception.get("message", ""),
            "traceback": exception.get("traceback", ""),
        }
    return out


def _frame_v0(level: Any) -> Any:
    if not isinstance(level, dict):
        return level  # validation reports it
    frame = {k: level[k] for k in ("step", "index", "num_splits", "var") if k in level}
    if level.get("element") is not None:
        frame["element"] = level["element"]
    elif level.get("items") is not None:
        frame["items"] = level["items"]
    return frame
