"""Reading TOML files with the standard library (``tomli`` on Python 3.10)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from flowkit.catalog.errors import CatalogFileError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 only
    import tomli as tomllib


def read_toml(path: Path, what: str) -> dict[str, Any]:
    """Parse the TOML file at ``path``.

    Args:
        path: The file.
        what: What it is, for the error (``"catalog"``, ``"credentials file"``).

    Raises:
        CatalogFileError: The file cannot be read or is not valid TOML.
    """
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise CatalogFileError(
            f"the {what} {path} cannot be read: {exc.strerror}",
            hint=f"check that {path} exists and is readable",
        ) from None
    except tomllib.TOMLDecodeError as exc:
        # the message gives line and column, never the value (a credentials file holds secrets)
        raise CatalogFileError(
            f"the {what} {path} is not valid TOML: {exc}", hint="correct the line it names"
        ) from None


def parse_toml(data: bytes, path: Path, what: str) -> dict[str, Any]:
    """Parse TOML ``data`` read earlier from ``path`` (named in the error).

    Raises:
        CatalogFileError: ``data`` is not valid UTF-8 TOML.
    """
    try:
        return tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CatalogFileError(
            f"the {what} {path} is not valid TOML: {exc}", hint="correct the line it names"
        ) from None
