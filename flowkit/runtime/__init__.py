"""Running a flow: scheduling its tasks, launching them locally or remotely, resuming a run.

A package of its own layer: it imports the graph, decorators, DSL and datastore, and is imported
only by the CLI (the client never imports it). See ``[tool.importlinter]`` in pyproject.toml.
"""
