"""Facts recorded about a table in lineage: its content hash, rows and schema hash; and the
check of a table against the schema its dataset declares."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from flowkit.catalog.config import DatasetSpec
from flowkit.catalog.errors import SchemaMismatch


def schema_of(frame: Any) -> list[tuple[str, str]]:
    """``[(column, dtype), ...]`` of a DataFrame, in column order."""
    return [(str(name), str(dtype)) for name, dtype in frame.dtypes.items()]


def schema_hash(frame: Any) -> str:
    """SHA-256 of the column names and dtypes: equal schemas hash equal."""
    return hashlib.sha256(json.dumps(schema_of(frame)).encode()).hexdigest()


def row_hashes(frame: Any) -> bytes:
    """One 64-bit hash per row (values only, not the index), as bytes.

    A row's hash does not depend on the other rows, so the row hashes of a table read in chunks
    are the chunks' row hashes one after the other.
    """
    import pandas as pd

    return bytes(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())


def frame_hash(frame: Any, rows: Any = None) -> str:
    """SHA-256 of a DataFrame's row hashes, then its schema: a table's content hash.

    Args:
        frame: The DataFrame.
        rows: A ``hashlib`` object already fed with the frame's row hashes chunk by chunk
            (:func:`row_hashes`); ``None``: hash the frame's rows here.
    """
    if rows is None:
        rows = hashlib.sha256(row_hashes(frame))
    rows.update(json.dumps(schema_of(frame)).encode())
    return str(rows.hexdigest())


# Text columns are "object" in pandas 1-2 and "str" in pandas 3: a schema saying either matches.
_TEXT = frozenset({"object", "str", "string", "string[python]", "string[pyarrow]"})


def _same_type(actual: str, wanted: str) -> bool:
    return actual == wanted or (actual in _TEXT and wanted in _TEXT)


def check_schema(spec: DatasetSpec, frame: Any) -> None:
    """Raise :class:`SchemaMismatch` when ``frame`` does not match ``spec.schema``.

    Args:
        spec: The dataset; nothing is checked when it declares no schema.
        frame: The DataFrame about to be saved.
    """
    if spec.schema is None:
        return
    if not hasattr(frame, "dtypes"):
        raise SchemaMismatch(
            f"{spec.where} declares a schema but was given a {type(frame).__name__}",
            hint="save a pandas DataFrame",
        )
    actual = dict(schema_of(frame))
    missing = [c for c in spec.schema if c not in actual]
    extra = [c for c in actual if c not in spec.schema]
    wrong = [
        f"{c} is {actual[c]}, expected {want}"
        for c, want in spec.schema.items()
        if c in actual and not _same_type(actual[c], want)
    ]
    problems = []
    if missing:
        problems.append(f"missing column(s) {', '.join(missing)}")
    if extra:
        problems.append(f"unexpected column(s) {', '.join(extra)}")
    problems += wrong
    if problems:
        raise SchemaMismatch(
            f"the data saved to {spec.where} does not match its schema: {'; '.join(problems)}",
            hint="convert the DataFrame (df.astype(...)) or change the schema in the catalog",
        )
