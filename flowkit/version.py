"""flowkit's version, in a module of its own below every layer.

Records on disk say which version wrote them, so the datastore needs it; importing it from the
``flowkit`` package instead would reach every layer (the package is the facade over them all).
"""

__version__ = "0.1.0"
