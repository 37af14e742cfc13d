"""Turning artifact values into bytes and back, without copying large buffers.

The format is pickle protocol 5 with out-of-band buffers: numpy arrays (and anything else that
exports a ``PickleBuffer``) are not copied into the pickle stream but kept as separate parts that
point at the object's own memory. Saving therefore writes the array straight from where it lives,
and loading hands slices of the one buffer read from storage back to the unpickler.

Layout of a serialized artifact (all integers little-endian)::

    b"FKA1"  flags:u8  format_major:u8  format_minor:u8  pad:1  buffer_count:u32
    stream_length:u64  buffer_lengths:u64 * count
    pickle stream (zlib-compressed when flag 1 is set)
    zero padding to a multiple of 64, buffer 1, zero padding to a multiple of 64, buffer 2, ...

Buffers start on 64-byte boundaries so arrays loaded in place are aligned for vectorized code.
The format version is that of :mod:`flowkit.datastore.format`; blobs written before it was
recorded hold zeros there (format 0, the same layout). The flowkit version is deliberately *not*
in the header: blobs are named by their bytes, and an upgrade must not store every unchanged
artifact again.
This module knows nothing about where the bytes are stored.
"""

from __future__ import annotations

import io
import pickle
import struct
import zlib
from dataclasses import dataclass
from typing import Any

import cloudpickle

from flowkit.datastore.format import FORMAT_MAJOR, FORMAT_MINOR, check_major
from flowkit.errors import ArtifactError, CorruptObject, UnpicklableArtifact

MAGIC = b"FKA1"
_HEADER = struct.Struct("<4sBBBxIQ")
_FLAG_ZLIB = 1
_ALIGN = 64
_PROTOCOL = 5

# Compression only pays for itself on big, redundant pickle streams (lists of strings, object
# graphs). zlib level 1 runs at a few hundred MB/s; a sample tells whether it is worth it.
_COMPRESS_MIN = 1 << 20
_COMPRESS_SAMPLE = 256 << 10
_COMPRESS_MAX_RATIO = 0.70

# bytes and bytearray are always pickled in-band by CPython; large top-level ones are wrapped so
# their memory is written out-of-band instead of being copied into the stream.
_OUT_OF_BAND_BYTES_MIN = 64 << 10


@dataclass
class SerializedArtifact:
    """An artifact ready to be stored.

    Attributes:
        parts: The bytes to store, in order. Large buffers are views of the original object's
            memory, so the object must not be modified until the parts are written.
        size: Total number of bytes across ``parts``.
        type_name: Qualified type of the value, e.g. ``"numpy.ndarray"`` or ``"builtins.dict"``.
    """

    parts: list[bytes | memoryview]
    size: int
    type_name: str


def type_name_of(obj: Any) -> str:
    """Return ``module.QualifiedName`` of the type of ``obj``."""
    kind = type(obj)
    return f"{kind.__module__}.{kind.__qualname__}"


def serialize(obj: Any, name: str | None = None) -> SerializedArtifact:
    """Serialize ``obj`` into parts, keeping large buffers out of band and uncopied.

    Args:
        obj: Any value cloudpickle can handle (including lambdas and classes of ``__main__``).
        name: The artifact's name, used in error messages.

    Returns:
        The parts to store, their total size and the value's type name.

    Raises:
        UnpicklableArtifact: ``obj`` (or something it references) cannot be pickled.
    """
    buffers: list[memoryview] = []

    def keep_out_of_band(buffer: pickle.PickleBuffer) -> bool:
        try:
            buffers.append(buffer.raw())
        except BufferError:  # not contiguous: let pickle copy it into the stream
            return True
        return False

    type_name = type_name_of(obj)
    target = _BytesOutOfBand(obj) if _is_large_bytes(obj) else obj
    stream_file = io.BytesIO()
    try:
        cloudpickle.CloudPickler(
            stream_file, protocol=_PROTOCOL, buffer_callback=keep_out_of_band
        ).dump(target)
    except Exception as exc:
        raise _unpicklable(type_name, name, exc) from exc
    stream = stream_file.getvalue()

    flags = 0
    if _worth_compressing(stream):
        stream = zlib.compress(stream, 1)
        flags |= _FLAG_ZLIB
    lengths = [buffer.nbytes for buffer in buffers]
    header = _HEADER.pack(
        MAGIC, flags, FORMAT_MAJOR, FORMAT_MINOR, len(lengths), len(stream)
    ) + struct.pack(f"<{len(lengths)}Q", *lengths)
    parts: list[bytes | memoryview] = [header, stream]
    size = len(header) + len(stream)
    for buffer in buffers:
        padding = _aligned(size) - size
        if padding:
            parts.append(bytes(padding))
        parts.append(buffer)
        size += padding + buffer.nbytes
    return SerializedArtifact(parts=parts, size=size, type_name=type_name)


def deserialize(data: bytearray | memoryview | bytes) -> Any:
    """Rebuild a value from the bytes produced by :func:`serialize`.

    Out-of-band buffers are handed to the unpickler as slices of ``data``, not copies: numpy
    arrays share ``data``'s memory, and are writable when ``data`` is a ``bytearray``.

    Raises:
        CorruptObject: ``data`` is not a serialized artifact or is truncated.
        FormatTooNew: The artifact was written in a newer major format.
        ArtifactError: The value cannot be rebuilt here (e.g. its module is not importable).
    """
    view = memoryview(data).cast("B")
    if len(view) < _HEADER.size or view[:4] != MAGIC:
        raise CorruptObject(
            "the stored object is not a flowkit artifact (it does not start with "
            f"{MAGIC!r}); it will not be loaded"
        )
    try:
        _, flags, major, minor, count, stream_length = _HEADER.unpack_from(view)
        check_major((major, minor), "stored artifact")
        lengths = struct.unpack_from(f"<{count}Q", view, _HEADER.size)
    except struct.error as exc:
        raise CorruptObject(
            "the stored artifact's header is truncated; it will not be loaded"
        ) from exc
    if flags & ~_FLAG_ZLIB:
        raise CorruptObject(
            f"the stored artifact uses unknown format flags {flags:#x}",
            hint="load it with the flowkit version that wrote it, or a newer one",
        )
    position = _HEADER.size + 8 * count
    stream: bytes | memoryview = view[position : position + stream_length]
    position += stream_length
    buffers = []
    for length in lengths:
        start = _aligned(position)
        buffers.append(view[start : start + length])
        position = start + length
    if position != len(view):
        raise CorruptObject(
            f"the stored artifact should be {position} bytes long but is {len(view)}; "
            "it is truncated or damaged and will not be loaded"
        )
    try:
        if flags & _FLAG_ZLIB:
            stream = zlib.decompress(stream)
        return pickle.loads(stream, buffers=buffers)
    except (zlib.error, pickle.UnpicklingError) as exc:
        raise CorruptObject(f"the stored artifact cannot be decoded ({exc})") from exc
    except Exception as exc:
        raise ArtifactError(
            f"the stored artifact cannot be rebuilt in this Python environment: {exc}",
            hint="run with the packages (and versions) that were installed when it was saved",
        ) from exc


class _BytesOutOfBand:
    """Pickles as ``bytes(buffer)`` / ``bytearray(buffer)`` with the buffer out of band."""

    __slots__ = ("data",)

    def __init__(self, data: bytes | bytearray) -> None:
        self.data = data

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, tuple[Any, ...]]:
        return type(self.data), (pickle.PickleBuffer(self.data),)


def _is_large_bytes(obj: Any) -> bool:
    return type(obj) in (bytes, bytearray) and len(obj) >= _OUT_OF_BAND_BYTES_MIN


def _worth_compressing(stream: bytes) -> bool:
    if len(stream) <= _COMPRESS_MIN:
        return False
    sample = memoryview(stream)[:_COMPRESS_SAMPLE]
    return len(zlib.compress(sample, 1)) < _COMPRESS_MAX_RATIO * len(sample)


def _aligned(offset: int) -> int:
    return -(-offset // _ALIGN) * _ALIGN


def _unpicklable(type_name: str, name: str | None, exc: Exception) -> UnpicklableArtifact:
    what = f"the artifact {name!r}" if name else "a value"
    where = f"self.{name}" if name else "self"
    return UnpicklableArtifact(
        f"{what} of type {type_name} cannot be serialized: {type(exc).__name__}: {exc}",
        hint=f"keep it in a local variable instead of assigning it to {where}, or convert it to "
        "plain data (numbers, strings, lists, dicts, numpy arrays) before the step ends",
    )
