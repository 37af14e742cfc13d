"""File datasets (csv, parquet, json, text, bytes, pickle) on any fsspec URL.

A file is read whole as bytes, hashed, then decoded: the bytes are what a snapshot keeps, so a
snapshot is read back with the same decoder. Parquet files, the big ones, are not held in
memory: a local file is read in place, a remote one is fetched into a temporary file
(:func:`local_file`); both are hashed and decoded from disk. The content hash of a write is that of
exactly the bytes written: parquet is encoded straight into the file and hashed on the way
(:func:`save_value`), other types are encoded to bytes first.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flowkit.catalog import parquet
from flowkit.catalog.config import DatasetSpec
from flowkit.catalog.errors import DatasetIOError
from flowkit.catalog.secrets import Secret, scrub
from flowkit.catalog.upload import HashingSink, write_whole

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
# Bytes per read when hashing a file.
_READ_BLOCK = 2**20


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
        raise _missing(spec, url) from None
    except Exception as exc:  # fsspec backends raise many kinds; the dataset must be named
        raise _io_error(spec, "read", url, exc) from None


@contextmanager
def local_file(
    spec: DatasetSpec, credential: dict[str, Secret] | None
) -> Iterator[tuple[str, str]]:
    """The dataset's file on local disk, and the SHA-256 of its bytes, never held whole.

    A local file is used in place; any other is fetched a block at a time into a temporary
    file, removed when the ``with`` block ends (failures included), then hashed from there.

    Yields:
        ``(path, content_hash)``.

    Raises:
        DatasetIOError: The file is missing or cannot be read.
    """
    url = file_url(spec)
    fs, path = _filesystem(spec, url, credential)
    if _is_local(fs):
        try:
            digest = _hash_file(path)
        except FileNotFoundError:
            raise _missing(spec, url) from None
        except OSError as exc:
            raise _io_error(spec, "read", url, exc) from None
        yield path, digest
        return
    handle, temporary = tempfile.mkstemp(prefix="flowkit-dataset-", suffix=f".{spec.type}")
    os.close(handle)
    try:
        try:
            _fetch(fs, path, temporary)
            digest = _hash_file(temporary)
        except FileNotFoundError:
            raise _missing(spec, url) from None
        except Exception as exc:  # fsspec backends raise many kinds
            raise _io_error(spec, "read", url, exc) from None
        yield temporary, digest
    finally:
        os.unlink(temporary)


def _fetch(fs: Any, path: str, target: str) -> None:
    """Copy the remote file into the local file ``target``, a block at a time."""
    protocols = (fs.protocol,) if isinstance(fs.protocol, str) else tuple(fs.protocol)
    if "s3" in protocols:
        # s3fs streams one GET into the file; by default it would fetch a file bigger than
        # its block (50 MiB) as up to ten concurrent ranges, each held whole in memory
        fs.get_file(path, target, max_concurrency=1)
    else:
        fs.get_file(path, target)


def _is_local(fs: Any) -> bool:
    from fsspec.implementations.local import LocalFileSystem

    return isinstance(fs, LocalFileSystem)


def _hash_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        while block := source.read(_READ_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _missing(spec: DatasetSpec, url: str) -> DatasetIOError:
    return DatasetIOError(
        f"{spec.where}: {url} does not exist",
        hint="check the location in the catalog, or save the dataset first",
    )


def write_bytes(spec: DatasetSpec, data: bytes, credential: dict[str, Secret] | None) -> None:
    """Write ``data`` as the dataset's file, whole or not at all (see
    :func:`~flowkit.catalog.upload.write_whole`)."""
    url = file_url(spec)
    fs, path = _filesystem(spec, url, credential)
    try:
        write_whole(fs, path, data)
    except Exception as exc:
        raise _io_error(spec, "write", url, exc) from None


def save_value(spec: DatasetSpec, value: Any, credential: dict[str, Secret] | None) -> str:
    """Encode ``value`` and write it as the dataset's file; returns the written bytes' hash.

    Parquet with no ``save`` options is encoded a slice of rows at a time
    (:func:`flowkit.catalog.parquet.write_frame`) straight into the file, hashed on the way, so
    neither the whole frame as Arrow nor the encoded bytes are ever held at once (in a buffer,
    then in an object store's upload buffer). Other types are encoded to bytes first.

    Raises:
        DatasetIOError: The value is not what the type needs, or the file cannot be written.
    """
    if spec.type != "parquet" or spec.save_options or not hasattr(value, "to_parquet"):
        data = encode(spec, value)
        write_bytes(spec, data, credential)
        return content_hash(data)
    url = file_url(spec)
    fs, path = _filesystem(spec, url, credential)
    sink = HashingSink(fs, path)
    try:
        parquet.write_frame(value, sink)
        sink.finish()
    except Exception as exc:
        sink.abandon()
        if sink.failed_io:  # the file system failed: name the dataset; else the data did
            raise _io_error(spec, "write", url, exc) from None
        raise
    return sink.hexdigest()


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
