"""Test suites that ship with flowkit, for code that extends it.

:mod:`flowkit.testing.storage` holds the conformance suite of datastore backends: a backend
written outside flowkit subclasses :class:`~flowkit.testing.storage.StorageBackendTests` in its
own tests to check that it behaves as flowkit expects. These modules need ``pytest``.
"""
