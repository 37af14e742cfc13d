"""serialize/deserialize: round trips, out-of-band buffers, compression and errors."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from flowkit.datastore import deserialize, serialize
from flowkit.errors import CorruptObject, UnpicklableArtifact


def _joined(obj: Any) -> bytearray:
    """The bytes that would be stored, as the content store reads them back."""
    out = bytearray()
    for part in serialize(obj).parts:
        out += part
    return out


def _round_trip(obj: Any) -> Any:
    return deserialize(_joined(obj))


@pytest.mark.parametrize(
    "value",
    [
        {"a": 1, "b": [1.5, "x", None], "c": {"nested": (1, 2)}},
        [1, 2, 3],
        "text",
        b"small bytes",
        None,
        {1, 2, 3},
    ],
)
def test_plain_values_round_trip(value: Any) -> None:
    assert _round_trip(value) == value


def test_lambda_round_trips() -> None:
    offset = 10
    result = _round_trip(lambda x: x + offset)
    assert result(5) == 15


def test_class_defined_in_a_test_round_trips() -> None:
    class Point:
        def __init__(self, x: int, y: int) -> None:
            self.x, self.y = x, y

        def norm1(self) -> int:
            return abs(self.x) + abs(self.y)

    loaded = _round_trip(Point(3, -4))
    assert loaded.norm1() == 7
    assert type(loaded).__name__ == "Point"


def test_type_name_and_size() -> None:
    serialized = serialize(np.zeros(3))
    assert serialized.type_name == "numpy.ndarray"
    assert serialize({}).type_name == "builtins.dict"
    assert serialized.size == sum(memoryview(p).nbytes for p in serialized.parts)


def test_numpy_buffers_are_not_copied_when_saving() -> None:
    array = np.arange(1_000_000, dtype=np.float64)
    parts = serialize(array).parts
    assert any(np.shares_memory(np.frombuffer(part, dtype=np.uint8), array) for part in parts)
    # The pickle stream itself stays tiny: the data is out of band.
    assert sum(len(p) for p in parts[:2]) < 1000


def test_numpy_arrays_load_writable_aligned_and_without_copy() -> None:
    array = np.random.default_rng(0).random((300, 200))
    data = _joined({"x": array, "y": array[::2].copy()})
    loaded = deserialize(data)
    np.testing.assert_array_equal(loaded["x"], array)
    np.testing.assert_array_equal(loaded["y"], array[::2])
    raw = np.frombuffer(data, dtype=np.uint8)
    for out in loaded.values():
        assert out.flags.writeable
        assert np.shares_memory(out, raw)
        assert (out.ctypes.data - raw.ctypes.data) % 64 == 0
    loaded["x"][0, 0] = -1.0  # writable for real
    assert loaded["x"][0, 0] == -1.0


def test_fortran_and_strided_arrays_round_trip() -> None:
    base = np.arange(60, dtype=np.int32).reshape(6, 10)
    fortran = np.asfortranarray(base)
    strided = base[:, ::3]  # not contiguous: pickled in band
    loaded = _round_trip([fortran, strided])
    np.testing.assert_array_equal(loaded[0], base)
    assert loaded[0].flags.f_contiguous
    np.testing.assert_array_equal(loaded[1], strided)


@pytest.mark.parametrize("kind", [bytes, bytearray])
def test_large_top_level_bytes_go_out_of_band(kind: type) -> None:
    value = kind(os.urandom(1 << 20))
    parts = serialize(value).parts
    assert any(isinstance(p, memoryview) and p.obj is value for p in parts)
    loaded = _round_trip(value)
    assert type(loaded) is kind
    assert loaded == value


def test_redundant_large_streams_are_compressed() -> None:
    value = [f"row {i % 100} of a very repetitive table" for i in range(100_000)]
    serialized = serialize(value)
    header = serialized.parts[0]
    assert header[4] & 1  # the zlib flag
    assert serialized.size < 1 << 20
    assert _round_trip(value) == value


def test_incompressible_streams_are_not_compressed() -> None:
    value = [os.urandom(1000) for _ in range(2000)]  # ~2 MB in band, random
    header = serialize(value).parts[0]
    assert not header[4] & 1
    assert _round_trip(value) == value


def _numbers() -> Iterator[int]:
    yield 1


@pytest.mark.parametrize(
    ("value", "type_fragment"),
    [(threading.Lock(), "lock"), (_numbers(), "generator")],
)
def test_unpicklable_values_raise_with_the_type(value: Any, type_fragment: str) -> None:
    with pytest.raises(UnpicklableArtifact) as info:
        serialize({"inner": value}, name="model")
    message = str(info.value)
    assert type_fragment in message
    assert "'model'" in message
    assert "self.model" in message  # the hint says what to do
    assert isinstance(info.value, TypeError)


def test_unpicklable_without_a_name() -> None:
    with pytest.raises(UnpicklableArtifact, match=r"_thread\.lock"):
        serialize(threading.Lock())


def test_bad_magic_is_corrupt() -> None:
    with pytest.raises(CorruptObject, match="not a flowkit artifact"):
        deserialize(bytearray(b"PK\x03\x04 definitely a zip file"))


def test_truncated_data_is_corrupt() -> None:
    data = _joined(np.arange(1000))
    with pytest.raises(CorruptObject, match="truncated"):
        deserialize(data[:-10])
    with pytest.raises(CorruptObject):
        deserialize(data[:10])


def test_read_only_input_gives_read_only_arrays() -> None:
    loaded = deserialize(bytes(_joined(np.arange(10.0))))
    np.testing.assert_array_equal(loaded, np.arange(10.0))
    assert not loaded.flags.writeable
