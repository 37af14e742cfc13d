"""Command lines: the per-flow CLI (``python flow.py ...``) and the ``flowkit`` command."""
