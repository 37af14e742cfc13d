"""First-party flowkit plugins.

Each plugin here registers itself through the ``flowkit.plugins`` entry-point group in
``pyproject.toml``, the same door a third-party package uses, so nothing in ``flowkit/`` imports
this package directly.
"""
