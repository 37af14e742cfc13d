"""The split index of a foreach: which element each split works on, fixed once by the parent.

The task that calls ``self.next(..., foreach="var")`` iterates the collection exactly once, in
its own process, stores every element as its own blob and records their names, in split order,
in one small *split index* blob named by the manifest's ``foreach_splits``. Every child then
receives the name of its own element and loads only that.

Fixing the order in the parent is what makes a foreach over a ``set`` (or any collection whose
iteration order depends on the interpreter, such as strings hashed with a per-process seed)
correct when children run in fresh interpreters (``--launcher spawn``, AWS Batch) or in a
resumed run: a child never re-iterates the collection, so it cannot pick another element.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowkit.datastore.flowstore import FlowDatastore
from flowkit.datastore.serialize import serialize
from flowkit.errors import CorruptObject, FlowRuntimeError

_HEADER = b"flowkit-splits 1\n"


def elements_of(items: Any, count: int, where: str) -> list[Any]:
    """The foreach elements of ``items`` in split order: iterated once, here.

    DataFrame-like objects give their rows (``iloc``), mappings their keys, strings their
    characters, indexable sequences ``items[i]``, anything else its iteration order.

    Args:
        items: The collection named by ``foreach=``.
        count: Its length, as counted when ``self.next`` was called.
        where: The step, for the error message.

    Raises:
        FlowRuntimeError: Iterating gave another number of elements than ``len()`` said.
    """
    if hasattr(items, "iloc"):
        elements = [items.iloc[i] for i in range(count)]
    elif isinstance(items, Mapping) or not hasattr(items, "__getitem__"):
        elements = list(items)
    else:
        elements = [items[i] for i in range(count)]
    if len(elements) != count:
        raise FlowRuntimeError(
            f"{where}: the foreach collection has length {count} but gave {len(elements)} "
            "elements when iterated",
            hint="fan out over a plain list: self.var = list(...) before self.next",
        )
    return elements


def store_splits(store: FlowDatastore, elements: list[Any], var: str) -> str:
    """Store each element as a blob (identical ones once) and the split index; return its name.

    Raises:
        UnpicklableArtifact: An element cannot be serialized.
    """
    parts = [serialize(element, f"{var}[{i}]").parts for i, element in enumerate(elements)]
    names = store.content.put_many(parts)
    return store.content.put([_HEADER, "\n".join(names).encode()])


class SplitIndex:
    """The element blob names of a foreach, in split order, kept as the stored bytes.

    A 100,000-wide foreach has 100,000 names: the runner keeps them as one bytes object (65
    bytes each) and makes a ``str`` only for the split it is starting.
    """

    _WIDTH = 65  # 64 hex digits and a newline

    def __init__(self, body: bytes) -> None:
        self._body = body
        self._count = (len(body) + 1) // self._WIDTH if body else 0

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index: int) -> str:
        if not 0 <= index < self._count:
            raise IndexError(index)
        start = index * self._WIDTH
        return self._body[start : start + self._WIDTH - 1].decode()


def read_splits(store: FlowDatastore, index: str) -> SplitIndex:
    """The element blob names recorded in the split index blob ``index``, in split order.

    Raises:
        CorruptObject: The blob is not a split index.
        ObjectNotFound: The blob is missing.
    """
    data = bytes(store.content.get(index))
    body = data[len(_HEADER) :]
    if not data.startswith(_HEADER) or (body and (len(body) + 1) % SplitIndex._WIDTH):
        raise CorruptObject(f"the blob {index} is not a foreach split index")
    return SplitIndex(body)
