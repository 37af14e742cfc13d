"""A user's file paths as messages show them.

Used by the graph checks (error locations), the runtime (resume hints) and the CLI, so it sits
below all of them rather than in any one.
"""

from __future__ import annotations

import os


def display_path(path: str) -> str:
    """A path as the user would type it: relative to the current folder when below it.

    Args:
        path: Any path, absolute or relative.

    Returns:
        The relative path when ``path`` is under the current folder, else ``path`` unchanged.
    """
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return path
    return rel if not rel.startswith("..") else path
