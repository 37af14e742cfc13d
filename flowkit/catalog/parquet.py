"""Parquet tables read a column and written a slice at a time: the frames ``pandas.read_parquet``
and ``DataFrame.to_parquet`` give, in a fraction of their memory.

``pandas.read_parquet`` decodes the whole file into an Arrow table, then copies it into the
DataFrame: the table, the copy and pyarrow's buffers all live at the peak (3x the frame and
more). :func:`read_frame` decodes one column at a time in batches straight into the frame's
preallocated numpy arrays; text columns keep Arrow's chunks as they are (pandas' ``str`` dtype
is backed by them). It builds only what it can prove equal to ``read_parquet``: the dtypes,
column labels, index and ``attrs`` pandas itself gives for the file's schema (its conversion
of an empty table with that schema), numeric, boolean and text columns. Anything else (categoricals,
dates, nullable integers, a stored index, ...) is read by ``pandas.read_parquet``.

:func:`write_frame` converts the frame to Arrow a slice of rows at a time into a
``ParquetWriter``, one row group per slice, with the pandas metadata ``to_parquet`` writes,
instead of converting the whole frame first and encoding one row group of every row.
"""

from __future__ import annotations

import io
import json
from typing import Any

# Rows per batch decoded. Small batches cost no time that shows (0.05 s for 1,000,000 rows of
# four columns, as with 65,536) but much less memory: pyarrow's allocator keeps freed batches
# of the bigger sizes, and a text batch keeps its builder's spare capacity. Measured on
# 1,000,000 rows (4 columns), peak over the frame: 1.51x with 4,096 rows, 1.8x with 65,536.
_BATCH_ROWS = 4096
# Rows per row group written (a slice of the frame converted to Arrow at a time). Measured on
# the same frame, peak over it (before the dictionary limit below): 0.58x with 65,536 rows,
# 1.4x with 131,072 or more, 0.76x with 32,768 (and slower).
_SLICE_ROWS = 65_536
# The dictionary size at which a column chunk falls back to plain encoding: pyarrow's 1 MiB
# default, scaled like the row group (1/16 of to_parquet's 1,048,576 rows). With 1 MiB, a
# column of distinct values (ids, measurements) stays dictionary-encoded in every 65,536-row
# group: a file 26% bigger and slower to write than to_parquet's; with this, 1% smaller.
_DICTIONARY_LIMIT = 1 << 16
# The reader's buffer on the file (without it, a column's whole chunk is read at once).
_READ_BUFFER = 1 << 20


class _Unsupported(Exception):
    """A table whose frame the column-wise reader cannot prove equal to ``read_parquet``'s."""


def read_frame(path: str, options: dict[str, Any] | None = None) -> Any:
    """``pandas.read_parquet(path, **options)``, with less memory when there are no options.

    Args:
        path: A local parquet file.
        options: The dataset's ``load`` options; any makes this plain ``read_parquet``.
    """
    import pandas as pd

    if not options:
        try:
            return _read_by_columns(path)
        except _Unsupported:
            pass
    return pd.read_parquet(path, **(options or {}))


def write_frame(frame: Any, sink: Any) -> None:
    """``frame.to_parquet(sink, index=False)``, encoded a slice of rows at a time.

    ``pandas.read_parquet`` gives back a frame equal to ``frame`` (with a default index, as
    with ``index=False``); the file's row groups are slices of :data:`_SLICE_ROWS` rows, so its
    bytes differ from ``to_parquet``'s. Frames with columns of other types, with ``attrs`` or
    without rows go through ``to_parquet``.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not _writable_by_slices(frame):
        frame.to_parquet(sink, index=False)
        return
    schema = pa.Schema.from_pandas(frame.iloc[:0], preserve_index=False)
    # the first slice is converted before the writer touches the sink: a frame the encoder
    # refuses writes nothing
    first = _record_batch(frame, 0, schema)
    with pq.ParquetWriter(
        sink, schema, compression="snappy", dictionary_pagesize_limit=_DICTIONARY_LIMIT
    ) as writer:
        writer.write_batch(first)
        del first
        for start in range(_SLICE_ROWS, len(frame), _SLICE_ROWS):
            writer.write_batch(_record_batch(frame, start, schema))


def _record_batch(frame: Any, start: int, schema: Any) -> Any:
    import pyarrow as pa

    piece = frame.iloc[start : start + _SLICE_ROWS]
    # one thread: a pool per 65,536-row slice costs more than it saves
    return pa.RecordBatch.from_pandas(piece, schema=schema, preserve_index=False, nthreads=1)


def _writable_by_slices(frame: Any) -> bool:
    import pandas as pd

    columns = frame.columns
    if not len(frame) or frame.attrs or isinstance(columns, pd.MultiIndex) or not columns.is_unique:
        return False
    if not all(isinstance(label, str) for label in columns):
        return False
    return all(_plain_dtype(dtype) for dtype in frame.dtypes)


def _plain_dtype(dtype: Any) -> bool:
    """Numbers, booleans and pandas' default text dtype: what both paths handle exactly."""
    import numpy as np

    if isinstance(dtype, np.dtype):
        return dtype.kind in "iub" or (dtype.kind == "f" and dtype.itemsize >= 4)
    return bool(dtype == _text_dtype())


def _text_dtype() -> Any:
    import numpy as np
    import pandas as pd

    return pd.StringDtype("pyarrow", na_value=np.nan)


def _read_by_columns(path: str) -> Any:
    import pandas as pd
    import pyarrow.parquet as pq

    with pq.ParquetFile(path, buffer_size=_READ_BUFFER, pre_buffer=False) as parquet:
        schema = parquet.schema_arrow
        rows = parquet.metadata.num_rows
        names = schema.names
        if not rows or parquet.metadata.num_columns != len(names) or len(set(names)) < len(names):
            raise _Unsupported("empty, nested or duplicate columns")
        index = _index(schema.pandas_metadata, rows)
        expected = _empty_frame(schema)
        if len(expected.columns) != len(names):
            raise _Unsupported("columns stored for the index")
        columns = [
            _column(parquet, field, dtype, rows)
            for field, dtype in zip(schema, expected.dtypes, strict=True)
        ]
    frame = pd.DataFrame(dict(enumerate(columns)), index=index, copy=False)
    frame.columns = expected.columns
    frame.attrs = expected.attrs
    return frame


def _empty_frame(schema: Any) -> Any:
    """What ``read_parquet`` gives for a file with ``schema`` and no rows: pandas' own
    choice of dtypes, column labels and ``attrs`` from the schema and its pandas metadata."""
    import pandas as pd
    import pyarrow.parquet as pq

    try:  # the conversion read_parquet applies to the table it reads
        from pandas.io._util import arrow_table_to_pandas
    except ImportError:  # moved in another pandas: ask read_parquet itself, through a file
        buffer = io.BytesIO()
        pq.write_table(schema.empty_table(), buffer)
        buffer.seek(0)
        return pd.read_parquet(buffer)
    frame = arrow_table_to_pandas(schema.empty_table())
    attrs = (schema.metadata or {}).get(b"PANDAS_ATTRS")
    if attrs is not None:
        frame.attrs = json.loads(attrs)
    return frame


def _index(pandas_metadata: dict[str, Any] | None, rows: int) -> Any:
    """The row index pyarrow rebuilds: a range described in the metadata, else 0..rows-1."""
    import pandas as pd

    described = (pandas_metadata or {}).get("index_columns", [])
    if not described:
        return pd.RangeIndex(rows)
    if len(described) == 1 and isinstance(described[0], dict):
        range_ = described[0]
        if range_.get("kind") == "range":
            index = pd.RangeIndex(
                range_["start"], range_["stop"], step=range_["step"], name=range_["name"]
            )
            return index if len(index) == rows else pd.RangeIndex(rows)
    raise _Unsupported("an index stored as columns")


def _column(parquet: Any, field: Any, dtype: Any, rows: int) -> Any:
    """The column ``field`` as the array ``read_parquet`` would put in the frame."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    kind = field.type
    if dtype == _text_dtype() and (pa.types.is_large_string(kind) or pa.types.is_string(kind)):
        # the batches' chunks as they are: pandas' text operations on 245 chunks of a
        # 1,000,000-row column measured as fast as on 16 (joining them costs memory)
        chunks = [batch.column(0) for batch in _batches(parquet, field, _BATCH_ROWS)]
        return pd.arrays.ArrowStringArray(pa.chunked_array(chunks, type=kind), dtype=dtype)
    batches = (batch.column(0) for batch in _batches(parquet, field, _BATCH_ROWS))
    numeric = pa.types.is_integer(kind) or pa.types.is_boolean(kind) or _float(kind)
    if not (isinstance(dtype, np.dtype) and _plain_dtype(dtype) and numeric):
        raise _Unsupported(f"{field.name}: {kind} as {dtype}")
    if np.dtype(kind.to_pandas_dtype()) != dtype:
        raise _Unsupported(f"{field.name}: {kind} as {dtype}")
    values = np.empty(rows, dtype=dtype)
    filled = 0
    for chunk in batches:
        if chunk.null_count and dtype.kind != "f":  # pandas makes those floats or objects
            raise _Unsupported(f"{field.name}: missing values")
        values[filled : filled + len(chunk)] = chunk.to_numpy(zero_copy_only=False)
        filled += len(chunk)
    if filled != rows:
        raise _Unsupported(f"{field.name}: {filled} values for {rows} rows")
    return values


def _batches(parquet: Any, field: Any, rows: int) -> Any:
    return parquet.iter_batches(batch_size=rows, columns=[field.name], use_threads=False)


def _float(kind: Any) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_float32(kind) or pa.types.is_float64(kind))
