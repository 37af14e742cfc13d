"""PostgreSQL's binary ``COPY`` format read a batch of rows at a time into typed columns,
without one Python object per value: numpy for fixed-width types, pyarrow for text.

The stream (``COPY ... TO STDOUT (FORMAT BINARY)``) is a header, then one message per row
(a 16-bit field count, then per field a 32-bit length, -1 for NULL, and that many bytes,
big-endian), then a 16-bit -1. A batch's row messages are joined into one buffer; the row
boundaries (the messages' lengths) let every column be read for all the batch's rows at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
TRAILER = b"\xff\xff"

# type OID -> how its binary value reads (big-endian); text types come as their UTF-8 bytes
FIXED = {20: ">i8", 21: ">i2", 23: ">i4", 701: ">f8", 16: "?"}
TEXT = frozenset({25, 1042, 1043})


class MalformedCopy(ValueError):
    """The ``COPY`` stream is not what its header and the described columns say."""


def batches(messages: Iterable[Any], rows: int) -> Iterator[tuple[bytes, Any]]:
    """``(buffer, row lengths)`` of up to ``rows`` rows at a time from the ``COPY`` messages
    (psycopg's ``Copy`` iterated), header and trailer taken off.

    Raises:
        MalformedCopy: The stream does not start with the binary ``COPY`` header.
    """
    import numpy as np

    stream = iter(messages)
    first = True
    while True:
        parts = list(islice(stream, rows))
        exhausted = len(parts) < rows
        if first and parts:
            first = False
            head = bytes(parts[0][:19])
            if len(head) < 19 or not head.startswith(SIGNATURE):
                raise MalformedCopy("the COPY stream has no binary header")
            skip = 19 + int.from_bytes(head[15:19], "big")  # after the header's extension
            parts[0] = parts[0][skip:]
            if not len(parts[0]):
                del parts[0]
        if parts and bytes(parts[-1]) == TRAILER:
            del parts[-1]
            exhausted = True
            # psycopg finishes a COPY when its messages are read to the end
            for _ in stream:
                raise MalformedCopy("the COPY stream goes on after its trailer")
        if parts:
            lengths = np.fromiter(map(len, parts), np.int64, len(parts))
            buffer = b"".join(parts)
            del parts
            yield buffer, lengths
        if exhausted:
            return


def _gather(buf: Any, at: Any, dtype: Any) -> Any:
    """The ``dtype`` value starting at each offset ``at`` of the byte array ``buf``."""
    import numpy as np

    width = dtype.itemsize
    index = at[:, None] + np.arange(width)
    np.minimum(index, len(buf) - 1, out=index)  # a NULL's offset may be the buffer's end
    return buf[index].view(dtype).reshape(-1)


def parse(buffer: bytes, lengths: Any, oids: list[int]) -> list[tuple[Any, Any]]:
    """The columns of a batch of rows: per column ``(values, nulls)``.

    ``values`` is a numpy array of the type's big-endian dtype (a NULL's value is undefined)
    or, for text, ``(bytes, sizes)``: the values' UTF-8 bytes one after the other (a uint8
    array) and each one's length (0 for NULL); ``nulls`` a boolean numpy array, or ``None``
    when the batch has no NULL in that column.

    Raises:
        MalformedCopy: A row's fields do not match the columns.
    """
    import numpy as np

    buf = np.frombuffer(buffer, np.uint8)
    ends = np.cumsum(lengths)
    starts = ends - lengths
    if (_gather(buf, starts, np.dtype(">i2")) != len(oids)).any():
        raise MalformedCopy(f"a COPY row does not have {len(oids)} fields")
    at = starts + 2
    columns: list[tuple[Any, Any]] = []
    for oid in oids:
        sizes = _gather(buf, at, np.dtype(">i4")).astype(np.int64)
        at += 4
        nulls = sizes < 0
        has_nulls = bool(nulls.any())
        sizes[nulls] = 0
        if oid in TEXT:
            columns.append(((_text_bytes(buf, at, sizes), sizes), nulls if has_nulls else None))
        else:
            dtype = np.dtype(FIXED[oid])
            if (sizes[~nulls] != dtype.itemsize).any():
                raise MalformedCopy(f"a COPY value of type {oid} is not {dtype.itemsize} bytes")
            columns.append((_gather(buf, at, dtype), nulls if has_nulls else None))
        at += sizes
    if (at != ends).any():
        raise MalformedCopy("a COPY row is longer than its fields")
    return columns


def _text_bytes(buf: Any, at: Any, sizes: Any) -> Any:
    """The bytes of the values at ``at`` (``sizes`` bytes each), one after the other: picked
    out of the buffer with a mask, not copied value by value."""
    import numpy as np

    filled = sizes > 0
    # +1 where a value starts, -1 where it ends: the running sum is 1 inside values
    # (values never touch: a length or a row's field count lies between any two)
    edges = np.zeros(len(buf) + 1, np.int8)
    edges[at[filled]] = 1
    edges[(at + sizes)[filled]] = -1
    inside = np.cumsum(edges[:-1], dtype=np.int8).view(bool)
    return buf[inside]
