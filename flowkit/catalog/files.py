"""File datasets (csv, parquet, json, text, bytes, pickle) on any fsspec URL.

A file is read whole as bytes, hashed, then decoded: the bytes are what a snapshot keeps, so a
snapshot is read back with the same decoder. Writes encode to bytes first, so the content hash
is that of exactly what was written.
"""

from __future__ import annotations

import hashlib
import io
import pickle
from typing import Any

from flowkit.catalog.config import DatasetSpec
from flowkit.catalog.errors import DatasetIOError
from flowkit.catalog.secrets import Secret, scrub

_EXTENSIONS = {
    "csv": "csv",
    "parquet": "parquet",
    "json": "json",
    "text": "txt",
    "bytes": "bin",
    "pickle": "pkl",
}
# Credential fields that fsspec's S3, GCS and Azure filesystems take as keyword arguments.
_FS_CREDENTIAL_FIELDS = ("key", "secret", "token", "account_key", "sas_token", "password")
_FILESYSTEMS: dict[tuple[str, str, str], Any] = {}


def file_url(spec: DatasetSpec) -> str:
    """The file's URL: a location ending in ``/`` is a folder holding ``data.<ext>``."""
    if spec.location.endswith("/"):
        return f"{spec.location}data.{_EXTENSIONS[spec.type]}"
    return spec.location


def decode(spec: DatasetSpec, data: bytes) -> Any:
    """Turn a file's bytes into the value a step gets (a DataFrame for tables)."""
    import pandas as pd

    options = spec.load_options
    if spec.type == "csv":
        return pd.read_csv(io.BytesIO(data), **options)
    if spec.type == "parquet":
        return pd.read_parquet(io.BytesIO(data), **options)
    if spec.type == "json":
        return pd.read_json(io.BytesIO(data), **options)
    if spec.type == "text":
        return data.decode(options.get("encoding", "utf-8"))
    if spec.type == "pickle":
        return pickle.loads(data)  # the user's own file, as pandas.read_pickle would
    return bytes(data)


def encode(spec: DatasetSpec, value: Any) -> bytes:
    """Turn a step's value into the bytes written for it."""
    options = spec.save_options
    if spec.type in ("csv", "parquet", "json") and not hasattr(value, "to_parquet"):
        raise DatasetIOError(
            f"{spec.where} is a {spec.type} table: save a pandas DataFrame, not a "
            f"{type(value).__name__}",
            hint="build a DataFrame (pandas.DataFrame(...)) before saving",
        )
    if spec.type == "csv":
        return str(value.to_csv(**{"index": False, **options})).encode()
    if spec.type == "parquet":
        buffer = io.BytesIO()
        value.to_parquet(buffer, **{"index": False, **options})
        return buffer.getvalue()
    if spec.type == "json":
        return str(value.to_json(**{"orient": "records", **options})).encode()
    if spec.type == "text":
        return str(value).encode(options.get("encoding", "utf-8"))
    if spec.type == "pickle":
        return pickle.dumps(value, protocol=options.get("protocol", pickle.HIGHEST_PROTOCOL))
    if not isinstance(value, bytes | bytearray | memoryview):
        raise DatasetIOError(
            f"{spec.where} is of type bytes: save bytes, not a {type(value).__name__}",
            hint="encode the value first (value.encode())",
        )
    return bytes(value)


def read_bytes(spec: DatasetSpec, credential: dict[str, Secret] | None) -> bytes:
    """The file's bytes.

    Raises:
        DatasetIOError: The file is missing or cannot be read.
    """
    url = file_url(spec)
    fs, path = _filesystem(spec, url, credential)
    try:
        # one whole-object read (a single GET on object stores), not a buffered file's ranges
        return bytes(fs.cat_file(path))
    except FileNotFoundError:
        raise DatasetIOError(
            f"{spec.where}: {url} does not exist",
            hint="check the location in the catalog, or save the dataset first",
        ) from None
    except Exception as exc:  # fsspec backends raise many kinds; the dataset must be named
        raise _io_error(spec, "read", url, exc) from None


def write_bytes(spec: DatasetSpec, data: bytes, credential: dict[str, Secret] | None) -> None:
    """Write ``data`` as the dataset's file, creating its folder on local disks."""
    url = file_url(spec)
    fs, path = _filesystem(spec, url, credential)
    try:
        parent = path.rsplit("/", 1)[0]
        if parent and parent != path:
            fs.makedirs(parent, exist_ok=True)
        with fs.open(path, "wb") as handle:
            handle.write(data)
    except Exception as exc:
        raise _io_error(spec, "write", url, exc) from None


def content_hash(data: bytes) -> str:
    """SHA-256 of a file's bytes."""
    return hashlib.sha256(data).hexdigest()


def _io_error(spec: DatasetSpec, verb: str, url: str, exc: Exception) -> DatasetIOError:
    reason = scrub(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    return DatasetIOError(
        f"{spec.where}: cannot {verb} {url}: {type(exc).__name__}: {reason}",
        hint="check the location, that the server is reachable and the credential's access",
    )


def _filesystem(
    spec: DatasetSpec, url: str, credential: dict[str, Secret] | None
) -> tuple[Any, str]:
    """The fsspec filesystem for ``url``, one per protocol and credential *name*.

    Instances are cached here, not by fsspec (whose cache key would include the secret).
    """
    import fsspec
    from fsspec.core import split_protocol

    protocol = split_protocol(url)[0] or "file"
    options = dict(spec.storage_options)
    if protocol in ("s3", "s3a") and "endpoint_url" not in options:
        from flowkit.settings import load_settings

        endpoint = load_settings().s3_endpoint_url
        if endpoint:
            options["endpoint_url"] = endpoint
    key = (protocol, spec.credential or "", repr(sorted(options.items())))
    fs = _FILESYSTEMS.get(key)
    if fs is None:
        if credential:
            for name, value in credential.items():
                if name in _FS_CREDENTIAL_FIELDS:
                    options[name] = value.reveal()
        try:
            fs = fsspec.filesystem(protocol, skip_instance_cache=True, **options)
        except ImportError as exc:
            raise DatasetIOError(
                f"{spec.where}: {protocol}:// needs a package that is not installed ({exc.name})",
                hint="pip install 'flowkit[s3]'"
                if protocol.startswith("s3")
                else f"pip install the fsspec backend for {protocol}",
            ) from None
        _FILESYSTEMS[key] = fs
    return fs, fs._strip_protocol(url)
