"""PostgreSQL loads that never hold the whole table as Python rows: ``COPY ... TO STDOUT
(FORMAT BINARY)`` parsed by psycopg's C loaders, chunk by chunk, into preallocated columns.

``pandas.read_sql`` turns every row into Python objects, then every column into an object
array, then infers each column's dtype from its values; streaming it in chunks and
concatenating holds about three copies of the table at its peak. Here the result's column
types are read first (``LIMIT 0``), its rows counted, and the ``COPY`` stream fills numpy
columns of that length one chunk of rows at a time; text goes into pyarrow arrays per chunk,
kept as one chunked array behind pandas' ``str`` dtype. Count and ``COPY`` run in one
``REPEATABLE READ, READ ONLY`` transaction, so they see the same snapshot; a query whose rows
change between two runs (``random()``) still loads: the columns grow or are cut to what came.

The frame is the one ``read_sql`` gives: its dtypes follow the values as pandas infers them
(an integer column holding a NULL is float64, a boolean one object, an all-NULL column object
of ``None``), which the tests check against ``read_sql`` type by type. Only the column types
listed below take this path; any other, a dataset with ``load`` options, an empty result or a
query that cannot be wrapped in a sub-query go through ``read_sql`` (:mod:`flowkit.catalog.sql`).
"""

from __future__ import annotations

import hashlib
from itertools import islice
from typing import Any

from flowkit.catalog.tables import frame_hash, row_hashes

# PostgreSQL type OIDs (pg_type) whose values this path converts as read_sql does
_INTEGERS = {20: "int8", 21: "int2", 23: "int4"}
_FLOATS = {700: "float4", 701: "float8"}
_BOOLEANS = {16: "bool"}
_TEXTS = {25: "text", 1042: "bpchar", 1043: "varchar"}
_KNOWN = {**_INTEGERS, **_FLOATS, **_BOOLEANS, **_TEXTS}


def applies(engine: Any, load_options: dict[str, Any]) -> bool:
    """Whether a load through ``engine`` may take this path: PostgreSQL through psycopg
    (version 3), and no ``load`` options (they are ``read_sql``'s keyword arguments)."""
    dialect = engine.dialect
    return dialect.name == "postgresql" and dialect.driver == "psycopg" and not load_options


def _text_dtype() -> Any:
    """pandas' ``str`` dtype as ``read_sql`` gives it, or ``None`` when pandas infers text
    as something else here (``future.infer_string`` off): then this path is not taken."""
    import numpy as np
    import pandas as pd

    inferred = pd.Series(np.array(["a", None], dtype=object)).dtype
    wanted = pd.StringDtype("pyarrow", na_value=np.nan)
    return wanted if inferred == wanted else None


class _Numbers:
    """A preallocated numpy column of integers, floats or booleans and where its NULLs are."""

    def __init__(self, kind: str, rows: int) -> None:
        import numpy as np

        self.kind = kind
        self.dtype = {"int": np.int64, "float": np.float64, "bool": np.bool_}[kind]
        self.fill = {"int": 0, "float": np.nan, "bool": False}[kind]
        self.values = np.empty(rows, dtype=self.dtype)
        self.nulls: Any = None  # a boolean mask, made at the first NULL
        self.null_count = 0

    def resize(self, rows: int) -> None:
        import numpy as np

        for name in ("values", "nulls"):
            old = getattr(self, name)
            if old is not None:
                new = np.zeros(rows, dtype=old.dtype)
                kept = min(rows, len(old))
                new[:kept] = old[:kept]
                setattr(self, name, new)

    def put(self, start: int, values: tuple[Any, ...]) -> None:
        import numpy as np

        count = len(values)
        nulls = values.count(None)
        if not nulls:
            self.values[start : start + count] = np.fromiter(values, self.dtype, count)
            return
        if self.nulls is None:
            self.nulls = np.zeros(len(self.values), dtype=bool)
        self.null_count += nulls
        self.nulls[start : start + count] = np.fromiter((v is None for v in values), bool, count)
        fill = self.fill
        self.values[start : start + count] = np.fromiter(
            (fill if v is None else v for v in values), self.dtype, count
        )

    def column(self, rows: int, step: int) -> Any:
        """The finished column of ``rows`` values, converted in slices of ``step`` rows."""
        import numpy as np

        values = self.values[:rows]
        if not self.null_count:
            return values
        if self.null_count == rows:
            return np.full(rows, None, dtype=object)
        nulls = self.nulls[:rows]
        if self.kind == "float":  # NULLs are already NaN
            return values
        if self.kind == "int":
            # float64 in the same buffer, a slice at a time: no second full-size array
            floats = values.view(np.float64)
            for begin in range(0, rows, step):
                floats[begin : begin + step] = values[begin : begin + step].copy()
            floats[nulls] = np.nan
            return floats
        objects = np.empty(rows, dtype=object)  # booleans with NULLs: True, False, None
        objects[:] = values
        objects[nulls] = None
        return objects


class _Texts:
    """A text column as pyarrow arrays, one per chunk of rows."""

    def __init__(self) -> None:
        self.chunks: list[Any] = []
        self.null_count = 0

    def resize(self, rows: int) -> None:
        kept, total = [], 0
        for chunk in self.chunks:
            if total + len(chunk) > rows:
                chunk = chunk.slice(0, rows - total)
            kept.append(chunk)
            total += len(chunk)
        self.chunks = [c for c in kept if len(c)]
        self.null_count = sum(c.null_count for c in self.chunks)

    def put(self, start: int, values: tuple[Any, ...]) -> None:
        import pyarrow as pa

        chunk = pa.array(values, type=pa.large_string())
        self.null_count += chunk.null_count
        self.chunks.append(chunk)

    def column(self, rows: int, step: int, dtype: Any = None) -> Any:
        import numpy as np
        import pandas as pd
        import pyarrow as pa

        if self.null_count == rows:
            return np.full(rows, None, dtype=object)
        chunked = pa.chunked_array(self.chunks, type=pa.large_string())
        return pd.array(chunked, dtype=dtype)


def describe(cursor: Any, query: str) -> list[tuple[str, int]] | None:
    """``[(name, type OID), ...]`` of the query's result, or ``None`` when it cannot be
    described as a sub-query (the transaction is then aborted: roll it back)."""
    import psycopg

    try:
        cursor.execute(f"SELECT * FROM (\n{query}\n) AS q LIMIT 0")
    except psycopg.Error:
        return None
    return [(column.name, column.type_code) for column in cursor.description or []]


def count_rows(cursor: Any, query: str) -> int:
    """How many rows the query gives (in the transaction's snapshot)."""
    cursor.execute(f"SELECT count(*) FROM (\n{query}\n) AS q")
    row = cursor.fetchone()
    return int(row[0]) if row else 0


def load(conn: Any, query: str, chunksize: int) -> tuple[Any, str] | None:
    """Load the query's result through ``COPY`` on the SQLAlchemy connection ``conn``.

    Args:
        conn: A SQLAlchemy connection to PostgreSQL through psycopg.
        query: The ``SELECT`` (or ``VALUES``, ``WITH ...``) whose rows to load.
        chunksize: Rows converted at a time.

    Returns:
        The DataFrame and its content hash (:func:`~flowkit.catalog.tables.frame_hash`),
        or ``None`` when this path does not apply (a column type it does not convert, no
        rows, a query it cannot wrap): load with ``read_sql`` instead.

    Raises:
        psycopg.Error: The database refused the count or the ``COPY``.
    """
    import psycopg

    text_dtype = _text_dtype()
    if text_dtype is None:
        return None
    query = query.strip().rstrip(";").rstrip()
    raw = conn.connection.dbapi_connection
    if raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        raw.rollback()
    try:
        with raw.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            columns = describe(cursor, query)
            if not columns or any(oid not in _KNOWN for _, oid in columns):
                return None
            rows = count_rows(cursor, query)
            if not rows:
                return None  # read_sql's empty frame (object columns) is simplest from it
            return _copy(cursor, query, columns, rows, max(chunksize, 1), text_dtype)
    finally:
        raw.rollback()  # read only: nothing to keep; the pool gets an idle connection


def _copy(
    cursor: Any,
    query: str,
    columns: list[tuple[str, int]],
    expected: int,
    chunksize: int,
    text_dtype: Any,
) -> tuple[Any, str] | None:
    import pandas as pd

    builders: list[Any] = []
    for _, oid in columns:
        if oid in _TEXTS:
            builders.append(_Texts())
        else:
            kind = "int" if oid in _INTEGERS else "float" if oid in _FLOATS else "bool"
            builders.append(_Numbers(kind, expected))
    capacity, filled = expected, 0
    statement = f"COPY (\n{query}\n) TO STDOUT (FORMAT BINARY)"
    with cursor.copy(statement) as copy:
        copy.set_types([oid for _, oid in columns])
        stream = copy.rows()
        while True:
            chunk = list(islice(stream, chunksize))
            if not chunk:
                break
            if filled + len(chunk) > capacity:  # more rows than counted: a volatile query
                capacity = max(filled + len(chunk), capacity + capacity // 4)
                for builder in builders:
                    builder.resize(capacity)
            for builder, values in zip(builders, zip(*chunk)):
                builder.put(filled, values)
            filled += len(chunk)
            del chunk
    if not filled:
        return None
    if filled < capacity:  # fewer rows than counted
        for builder in builders:
            if isinstance(builder, _Texts):
                builder.resize(filled)
    arrays = [
        b.column(filled, chunksize, text_dtype)
        if isinstance(b, _Texts)
        else b.column(filled, chunksize)
        for b in builders
    ]
    # copy=False: no consolidation of same-typed columns into one block (a copy of them)
    frame = pd.DataFrame(dict(enumerate(arrays)), copy=False)
    frame.columns = pd.Index([name for name, _ in columns])
    return frame, _hash_in_slices(frame, chunksize)


def _hash_in_slices(frame: Any, step: int) -> str:
    """The frame's content hash, its rows hashed ``step`` at a time: hashing a ``str``
    column converts it to Python strings, which for the whole table would cost more than
    the table."""
    digest = hashlib.sha256()
    for begin in range(0, len(frame), step):
        digest.update(row_hashes(frame.iloc[begin : begin + step]))
    return frame_hash(frame, digest)
