"""The root of the client's hierarchy: every flow recorded in the datastore.

``Metaflow()`` is named as in Metaflow's client so that notebooks written for it read the same:
``Metaflow().flows`` lists the flows, iterating gives them one by one.
"""

from __future__ import annotations

from collections.abc import Iterator

from flowkit.client.context import default_context
from flowkit.client.flow import Flow


class Metaflow:
    """Every flow with a run in the current datastore, e.g. ``Metaflow().flows``.

    The datastore and namespace are the global ones (:func:`~flowkit.set_datastore_root`,
    :func:`~flowkit.namespace`); for another datastore use :attr:`ClientContext.flows
    <flowkit.client.ClientContext.flows>`. The flows are listed when asked, so an object kept
    in a notebook shows flows run since it was made.
    """

    @property
    def flows(self) -> list[Flow]:
        """The flows, sorted by name; with a namespace set, those with a run in it."""
        return default_context().flows

    def __iter__(self) -> Iterator[Flow]:
        return iter(self.flows)

    def __repr__(self) -> str:
        return "<Metaflow>"
