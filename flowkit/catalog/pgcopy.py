"""PostgreSQL loads that never hold the whole table as Python rows: ``COPY ... TO STDOUT
(FORMAT BINARY)`` read a batch of rows at a time into preallocated columns.

``pandas.read_sql`` turns every row into Python objects, then every column into an object
array, then infers each column's dtype from its values; streaming it in chunks and
concatenating held about three times the table at its peak. Here the result's column types
are read first (``LIMIT 0``), its rows counted, and the ``COPY`` stream parsed with numpy
(:mod:`flowkit.catalog.pgbinary`) straight into numpy columns of that length; text goes into
pyarrow arrays per batch, kept as one chunked array behind pandas' ``str`` dtype. Count and
``COPY`` run in one ``REPEATABLE READ, READ ONLY`` transaction, so they see the same
snapshot; a query whose rows change from one run to the next (``random()``) still loads:
the columns grow or are cut to what came.

The frame is the one ``read_sql`` gives: its dtypes follow the values as pandas infers them
(an integer column holding a NULL is float64, a boolean one object, an all-NULL column object
of ``None``), which the tests check against ``read_sql`` type by type. Only the column types
listed below take this path; any other, a dataset with ``load`` options, an empty result or a
query that cannot be wrapped in a sub-query go through ``read_sql`` (:mod:`flowkit.catalog.sql`).
"""

from __future__ import annotations

import hashlib
from typing import Any

from flowkit.catalog import pgbinary
from flowkit.catalog.tables import frame_hash, row_hashes

# PostgreSQL type OIDs (pg_type) whose values this path converts as read_sql does
_INTEGERS = {20: "int8", 21: "int2", 23: "int4"}
# not float4: read_sql's values are its text form read as a float64 (4.333334), which is
# not the float32 the binary form holds (4.3333335 in float64)
_FLOATS = {701: "float8"}
_BOOLEANS = {16: "bool"}
_TEXTS = {25: "text", 1042: "bpchar", 1043: "varchar"}
_KNOWN = {**_INTEGERS, **_FLOATS, **_BOOLEANS, **_TEXTS}

# Rows parsed at a time: the batch's row messages (a Python object each until they are
# joined), its bytes and the parse's index arrays stay under a megabyte. Measured on 1,000,000
# rows: 4,096 peaked 0.06x the table higher, 16,384 0.2x; 512 was no lower than 2,048.
BATCH_ROWS = 2048
# Rows hashed at a time (hashing a str column makes a few arrays of its length)
HASH_ROWS = 4096


def applies(engine: Any, load_options: dict[str, Any]) -> bool:
    """Whether a load through ``engine`` may take this path: PostgreSQL through psycopg
    (version 3), and no ``load`` options (they are ``read_sql``'s keyword arguments)."""
    dialect = engine.dialect
    return dialect.name == "postgresql" and dialect.driver == "psycopg" and not load_options


def _text_dtype() -> Any:
    """pandas' ``str`` dtype as ``read_sql`` gives it, or ``None`` when pandas infers text
    as something else here (``future.infer_string`` off): then this path is not taken."""
    import warnings

    import numpy as np
    import pandas as pd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas 3 deprecates the option (always on in 4)
        if not pd.get_option("future.infer_string"):
            return None
    dtype = pd.StringDtype(na_value=np.nan)
    return dtype if dtype.storage == "pyarrow" else None


class _Numbers:
    """A preallocated numpy column of integers, floats or booleans and where its NULLs are."""

    def __init__(self, kind: str, rows: int) -> None:
        import numpy as np

        self.kind = kind
        self.dtype = {"int": np.int64, "float": np.float64, "bool": np.bool_}[kind]
        self.fill = {"int": 0, "float": np.nan, "bool": False}[kind]
        self.values: Any = np.empty(rows, dtype=self.dtype)
        self.nulls: Any = None  # a boolean mask, made at the first NULL
        self.null_count = 0

    def resize(self, rows: int) -> None:
        """Grow (or cut) the column to ``rows`` values, keeping those stored."""
        import numpy as np

        for name in ("values", "nulls"):
            old = getattr(self, name)
            if old is not None:
                new = np.zeros(rows, dtype=old.dtype)
                kept = min(rows, len(old))
                new[:kept] = old[:kept]
                setattr(self, name, new)

    def put(self, start: int, values: Any, nulls: Any) -> None:
        """Store a batch's values (``nulls``: where they are NULL, ``None``: nowhere)."""
        import numpy as np

        stop = start + len(values)
        self.values[start:stop] = values
        if nulls is None:
            return
        if self.nulls is None:
            self.nulls = np.zeros(len(self.values), dtype=bool)
        self.nulls[start:stop] = nulls
        self.null_count += int(nulls.sum())
        self.values[start:stop][nulls] = self.fill

    def column(self, rows: int) -> Any:
        """The finished column of ``rows`` values, as ``read_sql`` would type it."""
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
            for begin in range(0, rows, BATCH_ROWS):
                end = begin + BATCH_ROWS
                floats[begin:end] = values[begin:end].copy()
            floats[nulls] = np.nan
            return floats
        objects = np.empty(rows, dtype=object)  # booleans with NULLs: True, False, None
        objects[:] = values
        objects[nulls] = None
        return objects


class _Texts:
    """A text column as one Arrow ``large_string`` array being filled: preallocated offsets
    (one per row) and bytes (as many as the count query summed), grown if more come."""

    def __init__(self, rows: int, size: int) -> None:
        import numpy as np

        self.offsets: Any = np.zeros(rows + 1, dtype=np.int64)
        self.data: Any = np.empty(size, dtype=np.uint8)
        self.used = 0  # bytes stored
        self.nulls: Any = None
        self.null_count = 0

    def resize(self, rows: int) -> None:
        """Make room for ``rows`` values, keeping those stored."""
        import numpy as np

        offsets = np.zeros(rows + 1, dtype=np.int64)
        kept = min(rows + 1, len(self.offsets))
        offsets[:kept] = self.offsets[:kept]
        self.offsets = offsets
        if self.nulls is not None:
            nulls = np.zeros(rows, dtype=bool)
            nulls[: kept - 1] = self.nulls[: kept - 1]
            self.nulls = nulls

    def put(self, start: int, values: Any, nulls: Any) -> None:
        """Store a batch's values: ``(bytes, sizes)`` from :func:`pgbinary.parse`."""
        import numpy as np

        data, sizes = values
        end = self.used + len(data)
        if end > len(self.data):  # more text than counted
            grown = np.empty(max(end, len(self.data) + len(self.data) // 4), dtype=np.uint8)
            grown[: self.used] = self.data[: self.used]
            self.data = grown
        self.data[self.used : end] = data
        stop = start + len(sizes)
        np.cumsum(sizes, out=self.offsets[start + 1 : stop + 1])
        self.offsets[start + 1 : stop + 1] += self.used
        self.used = end
        if nulls is not None:
            if self.nulls is None:
                self.nulls = np.zeros(len(self.offsets) - 1, dtype=bool)
            self.nulls[start:stop] = nulls
            self.null_count += int(nulls.sum())

    def column(self, rows: int, dtype: Any) -> Any:
        """The finished column: ``dtype`` (pandas' ``str``), or object when all NULL."""
        import numpy as np
        import pandas as pd
        import pyarrow as pa

        if self.null_count == rows:
            return np.full(rows, None, dtype=object)
        validity = None
        if self.null_count:
            validity = pa.py_buffer(np.packbits(~self.nulls[:rows], bitorder="little"))
        offsets = self.offsets[: rows + 1]
        array = pa.LargeStringArray.from_buffers(
            rows,
            pa.py_buffer(offsets),
            pa.py_buffer(self.data[: offsets[-1]]),
            validity,
            self.null_count,
        )
        array.validate(full=True)  # UTF-8 and offsets, before pandas trusts them
        return pd.array(pa.chunked_array([array]), dtype=dtype)


def describe(cursor: Any, query: str) -> list[tuple[str, int]] | None:
    """``[(name, type OID), ...]`` of the query's result, or ``None`` when it cannot be
    described as a sub-query (the transaction is then aborted: roll it back)."""
    import psycopg

    try:
        cursor.execute(f"SELECT * FROM (\n{query}\n) AS q LIMIT 0")
    except psycopg.Error:
        return None
    return [(column.name, column.type_code) for column in cursor.description or []]


def _exact_floats(cursor: Any) -> bool:
    """Whether the server writes float8 as text exactly (PostgreSQL 12+ with
    ``extra_float_digits`` 1 or more: the shortest text that reads back the same double),
    so read_sql's values are the binary ones; with ``extra_float_digits = 0`` they are
    rounded to 15 digits."""
    cursor.execute(
        "SELECT current_setting('server_version_num')::int, "
        "current_setting('extra_float_digits')::int"
    )
    version, digits = cursor.fetchone()
    return bool(digits >= 3 or (version >= 120000 and digits >= 1))


def count_rows(cursor: Any, query: str, columns: list[tuple[str, int]]) -> tuple[int, list[int]]:
    """How many rows the query gives (in the transaction's snapshot), and per text column
    how many bytes its values hold (0 for the other columns)."""
    names = ", ".join(f"c{i}" for i in range(len(columns)))  # duplicates renamed by position
    sums = "".join(
        f", coalesce(sum(octet_length(c{i})), 0)"
        for i, (_, oid) in enumerate(columns)
        if oid in _TEXTS
    )
    cursor.execute(f"SELECT count(*){sums} FROM (\n{query}\n) AS q({names})")
    row = cursor.fetchone()
    sizes = iter(row[1:])
    return int(row[0]), [int(next(sizes)) if oid in _TEXTS else 0 for _, oid in columns]


def load(conn: Any, query: str, chunksize: int) -> tuple[Any, str] | None:
    """Load the query's result through ``COPY`` on the SQLAlchemy connection ``conn``.

    Args:
        conn: A SQLAlchemy connection to PostgreSQL through psycopg.
        query: The ``SELECT`` (or ``VALUES``, ``WITH ...``) whose rows to load.
        chunksize: Rows converted at a time.

    Returns:
        The DataFrame and its content hash (:func:`~flowkit.catalog.tables.frame_hash`),
        or ``None`` when this path does not apply (a column type it does not convert, no
        rows, a query it cannot wrap or that writes): load with ``read_sql`` instead.

    Raises:
        psycopg.Error: The database refused the count or the ``COPY``.
    """
    import psycopg

    text_dtype = _text_dtype()
    if text_dtype is None:
        return None
    query = query.strip().rstrip(";").rstrip()
    raw = conn.connection.dbapi_connection
    if raw.info.encoding != "utf-8":  # text is taken as the bytes the server sends
        return None
    if raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        raw.rollback()
    try:
        with raw.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            columns = describe(cursor, query)
            if not columns or any(oid not in _KNOWN for _, oid in columns):
                return None
            if any(oid in _FLOATS for _, oid in columns) and not _exact_floats(cursor):
                return None
            rows, sizes = count_rows(cursor, query, columns)
            if not rows:
                return None  # read_sql's empty frame (object columns) is simplest from it
            return _copy(cursor, query, columns, (rows, sizes), max(chunksize, 1), text_dtype)
    except psycopg.errors.ReadOnlySqlTransaction:
        return None  # the query writes (nextval(), a volatile function): read_sql may run it
    finally:
        raw.rollback()  # read only: nothing to keep; the pool gets an idle connection


def _copy(
    cursor: Any,
    query: str,
    columns: list[tuple[str, int]],
    counted: tuple[int, list[int]],
    chunksize: int,
    text_dtype: Any,
) -> tuple[Any, str] | None:
    import pandas as pd
    import pyarrow as pa

    expected, sizes = counted
    builders: list[Any] = []
    for (_, oid), size in zip(columns, sizes, strict=True):
        if oid in _TEXTS:
            builders.append(_Texts(expected, size))
        else:
            kind = "int" if oid in _INTEGERS else "float" if oid in _FLOATS else "bool"
            builders.append(_Numbers(kind, expected))
    capacity, filled = expected, 0
    oids = [oid for _, oid in columns]
    statement = f"COPY (\n{query}\n) TO STDOUT (FORMAT BINARY)"
    with cursor.copy(statement) as copy:
        for buffer, lengths in pgbinary.batches(copy, min(chunksize, BATCH_ROWS)):
            count = len(lengths)
            if filled + count > capacity:  # more rows than counted: a volatile query
                capacity = max(filled + count, capacity + capacity // 4)
                for builder in builders:
                    builder.resize(capacity)
            parsed = pgbinary.parse(buffer, lengths, oids)
            for builder, (values, nulls) in zip(builders, parsed, strict=True):
                builder.put(filled, values, nulls)
            filled += count
    if not filled:
        return None
    arrays = [
        b.column(filled, text_dtype) if isinstance(b, _Texts) else b.column(filled)
        for b in builders
    ]
    # copy=False: no consolidation of same-typed columns into one block (a copy of them)
    frame = pd.DataFrame(dict(enumerate(arrays)), copy=False)
    # the names as read_sql's str Index, made outside pyarrow's default pool: its first
    # allocation costs 3.5 MB; nothing else here allocates from it (the text is numpy's)
    names = pa.array(
        [n for n, _ in columns], pa.large_string(), memory_pool=pa.system_memory_pool()
    )
    frame.columns = pd.Index(pd.array(names, dtype=text_dtype), copy=False)
    return frame, _hash_in_slices(frame, HASH_ROWS)


def _hash_in_slices(frame: Any, step: int) -> str:
    """The frame's content hash (:func:`~flowkit.catalog.tables.frame_hash`), its rows
    hashed ``step`` at a time: pandas hashes a ``str`` column by dictionary-encoding all of
    it, which for the whole table peaks at twice the table.

    Without missing text or object values, each slice is hashed with ``categorize=False``:
    the same row hashes (pandas hashes each distinct value the same way either way; only a
    missing one gets a fixed hash when categorized), without loading pandas' categorical and
    pyarrow's dictionary machinery, a tenth of this table's size in memory.
    """
    import numpy as np
    import pandas as pd

    categorize = any(
        column.dtype == np.dtype(object)
        or (isinstance(column.dtype, pd.StringDtype) and column.hasnans)
        for _, column in frame.items()
    )
    digest = hashlib.sha256()
    for begin in range(0, len(frame), step):
        rows = frame.iloc[begin : begin + step]
        if categorize:
            digest.update(row_hashes(rows))
        else:
            hashed = pd.util.hash_pandas_object(rows, index=False, categorize=False)
            digest.update(hashed.to_numpy().tobytes())
    return frame_hash(frame, digest)
