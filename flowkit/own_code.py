"""Which source files are flowkit's own: told apart by location, never by a name in the path.

A user's project may well sit in a folder called ``flowkit`` (``git clone`` creates one), so a
substring test such as ``"/flowkit/" in filename`` would hide the user's own frames. The installed
package's real directory is the only reliable mark.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

#: The real (symlink-free) directory of the installed ``flowkit`` package.
PACKAGE_DIR = Path(__file__).resolve().parent


@lru_cache(maxsize=4096)
def is_own_file(filename: str) -> bool:
    """Whether ``filename`` (a code object's ``co_filename``) lies inside the flowkit package.

    Args:
        filename: A path as found in a traceback or code object; pseudo-names such as
            ``<string>`` are never ours.

    Returns:
        ``True`` when the file's real path is under :data:`PACKAGE_DIR`.
    """
    if not filename or filename.startswith("<"):
        return False
    try:
        real = Path(os.path.realpath(filename))
    except (OSError, ValueError):
        return False
    return real == PACKAGE_DIR or PACKAGE_DIR in real.parents
