"""SQL datasets (``sql_table``, ``sql_query``) through SQLAlchemy, streamed in chunks.

The location is a SQLAlchemy URL without its password; the credential's ``username`` and
``password`` are put into the URL object only when the engine is created. Engines (and so their
connection pools) are kept per credential *name* and password-less location, never under a URL
holding a password. Errors name the dataset and the profile, and carry the driver's reason
with every resolved secret scrubbed out.
"""

from __future__ import annotations

from typing import Any

from flowkit.catalog import pgcopy
from flowkit.catalog.config import DatasetSpec
from flowkit.catalog.errors import CatalogError, DatasetIOError, DatasetUnreachable
from flowkit.catalog.secrets import Secret, scrub
from flowkit.catalog.tables import frame_hash, row_hashes

_ENGINES: dict[tuple[str, str], Any] = {}


def _sqlalchemy() -> Any:
    try:
        import sqlalchemy
    except ImportError:
        raise CatalogError(
            "SQL datasets need SQLAlchemy, which is not installed",
            hint="pip install 'flowkit[catalog]'",
        ) from None
    return sqlalchemy


def engine_for(spec: DatasetSpec, credential: dict[str, Secret] | None) -> Any:
    """The engine of ``spec``'s database, shared by every dataset using the same credential.

    Raises:
        CatalogError: SQLAlchemy or the URL's driver is not installed, or the URL is invalid.
    """
    key = (spec.credential or "", spec.location)
    engine = _ENGINES.get(key)
    if engine is not None:
        return engine
    sqlalchemy = _sqlalchemy()
    try:
        url = sqlalchemy.engine.make_url(spec.location)
    except Exception:
        raise CatalogError(
            f"{spec.where}: {spec.location!r} is not a SQLAlchemy URL",
            hint="write it as dialect+driver://user@host:port/database",
        ) from None
    if credential:
        user = credential.get("username") or credential.get("user")
        password = credential.get("password")
        if user is not None:
            url = url.set(username=user.reveal())
        if password is not None:
            url = url.set(password=password.reveal())
    try:
        # hide_parameters: bound values (which may be anything) stay out of error messages
        engine = sqlalchemy.create_engine(url, hide_parameters=True)
    except ImportError as exc:
        raise CatalogError(
            f"{spec.where}: the database driver {exc.name} is not installed",
            hint="pip install 'flowkit[catalog]' (PostgreSQL: psycopg)",
        ) from None
    _ENGINES[key] = engine
    return engine


def dispose_engines() -> None:
    """Close every pooled connection (at the end of a task)."""
    for engine in _ENGINES.values():
        engine.dispose()
    _ENGINES.clear()


def _reason(exc: BaseException) -> str:
    """The driver's own message, first line, with secrets scrubbed."""
    inner = getattr(exc, "orig", None) or exc
    lines = str(inner).strip().splitlines()
    return scrub(lines[0] if lines else type(inner).__name__)


def _connect(spec: DatasetSpec, engine: Any) -> Any:
    try:
        return engine.connect()
    except Exception as exc:
        raise DatasetUnreachable(
            f"{spec.where}: cannot connect to {spec.location}: {_reason(exc)}",
            hint="check that the server is up and reachable, and the credential "
            f"{spec.credential!r}"
            if spec.credential
            else "check that the server is up",
        ) from None


def _quoted_table(spec: DatasetSpec, engine: Any) -> str:
    quote = engine.dialect.identifier_preparer.quote
    return ".".join(quote(part) for part in str(spec.table).split("."))


def load_frame(spec: DatasetSpec, credential: dict[str, Secret] | None) -> tuple[Any, str]:
    """Read the table or query's result as one DataFrame, streaming ``spec.chunksize`` rows
    at a time (a server-side cursor where the driver has one), hashing rows as they come.
    On PostgreSQL through psycopg, without ``load`` options, the rows come by ``COPY`` into
    preallocated columns (:mod:`flowkit.catalog.pgcopy`), the same frame in less memory.

    Returns:
        The DataFrame and its content hash (:func:`~flowkit.catalog.tables.frame_hash`).

    Raises:
        DatasetUnreachable: The server cannot be reached.
        DatasetIOError: The database refused the query.
    """
    import hashlib

    import pandas as pd

    sqlalchemy = _sqlalchemy()
    engine = engine_for(spec, credential)
    if spec.type == "sql_table":
        sql = f"SELECT * FROM {_quoted_table(spec, engine)}"
    else:
        sql = str(spec.query)
    if pgcopy.applies(engine, spec.load_options):
        with _connect(spec, engine) as conn:
            try:
                loaded = pgcopy.load(conn, sql, spec.chunksize)
            except Exception as exc:
                raise DatasetIOError(
                    f"{spec.where}: the database refused the query: {_reason(exc)}",
                    hint="check the table or query in the catalog",
                ) from None
        if loaded is not None:
            return loaded
    digest = hashlib.sha256()
    chunks: list[Any] = []
    with _connect(spec, engine) as conn:
        try:
            # max_row_buffer: the driver fetches no more rows at once than a chunk holds
            streamed = conn.execution_options(stream_results=True, max_row_buffer=spec.chunksize)
            query = sqlalchemy.text(sql)
            for chunk in pd.read_sql(
                query, streamed, chunksize=spec.chunksize, **spec.load_options
            ):
                digest.update(row_hashes(chunk))
                chunks.append(chunk)
            if not chunks:  # no rows: read once more without chunks to get the columns
                empty = pd.read_sql(query, conn, **spec.load_options)
                return empty, frame_hash(empty)
        except CatalogError:
            raise
        except Exception as exc:
            raise DatasetIOError(
                f"{spec.where}: the database refused the query: {_reason(exc)}",
                hint="check the table or query in the catalog",
            ) from None
    same_types = all(c.dtypes.equals(chunks[0].dtypes) for c in chunks)
    frame = chunks[0] if len(chunks) == 1 else pd.concat(chunks, ignore_index=True)
    del chunks
    if not same_types:  # a chunk's column changed type in the concat: hash the result
        return frame, frame_hash(frame)
    return frame, frame_hash(frame, digest)


def save_frame(spec: DatasetSpec, frame: Any, credential: dict[str, Secret] | None) -> str:
    """Write ``frame`` as the dataset's table (replacing it unless ``save.if_exists`` says),
    in chunks; on PostgreSQL with ``COPY``, the fastest way in.

    Returns:
        The frame's content hash (:func:`~flowkit.catalog.tables.frame_hash`).

    Raises:
        DatasetUnreachable: The server cannot be reached.
        DatasetIOError: The database refused the write.
    """
    if spec.type != "sql_table":
        raise DatasetIOError(
            f"{spec.where} is a sql_query: it can be loaded, not saved",
            hint="save to a sql_table dataset instead",
        )
    engine = engine_for(spec, credential)
    options = {"if_exists": "replace", "index": False, **spec.save_options}
    copy = engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg"
    copy = copy and "method" not in options and not options.get("index")
    schema, _, table = str(spec.table).rpartition(".")
    with _connect(spec, engine) as conn:
        try:
            with conn.begin():
                if not copy:
                    frame.to_sql(
                        table, conn, schema=schema or None, chunksize=spec.chunksize, **options
                    )
                    return frame_hash(frame)
                # pandas creates the table (its column types), COPY fills it chunk by chunk:
                # to_sql would first turn the whole frame into Python objects at once
                frame.head(0).to_sql(table, conn, schema=schema or None, **options)
                return _copy_frame(conn, frame, schema, table, spec.chunksize)
        except Exception as exc:
            raise DatasetIOError(
                f"{spec.where}: the database refused the write: {_reason(exc)}",
                hint="check the table's columns, or save.if_exists in the catalog",
            ) from None


def _copy_frame(conn: Any, frame: Any, schema: str, table: str, chunksize: int) -> str:
    """``COPY`` the frame's rows into ``table``, one chunk of Python values at a time, hashing
    each chunk's rows on the way; returns the frame's content hash."""
    import hashlib

    quote = conn.dialect.identifier_preparer.quote
    name = f"{quote(schema)}.{quote(table)}" if schema else quote(table)
    columns = ", ".join(quote(str(c)) for c in frame.columns)
    digest = hashlib.sha256()
    cursor = conn.connection.dbapi_connection.cursor()
    with cursor, cursor.copy(f"COPY {name} ({columns}) FROM STDIN") as copy:
        for begin in range(0, len(frame), chunksize):
            chunk = frame.iloc[begin : begin + chunksize]
            digest.update(row_hashes(chunk))
            # missing values (NaN, NaT, None) are NULL, as to_sql writes them
            values = chunk.astype(object).where(chunk.notna(), None)
            for row in values.itertuples(index=False, name=None):
                copy.write_row(row)
    return frame_hash(frame, digest)
