"""The catalog against real servers on 127.0.0.1: PostgreSQL (a throw-away server) and S3
(SeaweedFS); unreachable servers and wrong passwords; and the sentinel test: the password
and the S3 secret appear nowhere in the datastore or the output."""

from __future__ import annotations

import gzip
import io
import socket
import zlib

import pandas as pd
from catalogtests import CLI, episode

ORDERS = pd.DataFrame({"order_id": [1, 2, 3], "amount": [10.5, 3.0, 6.5]})


def _seed_postgres(postgres, table: str = "orders") -> None:
    import sqlalchemy

    url = sqlalchemy.engine.make_url(postgres.url).set(password=postgres.password)
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as conn:
        ORDERS.to_sql(table, conn, if_exists="replace", index=False)
    engine.dispose()


def _read_postgres(postgres, table: str) -> pd.DataFrame:
    import sqlalchemy

    url = sqlalchemy.engine.make_url(postgres.url).set(password=postgres.password)
    engine = sqlalchemy.create_engine(url)
    with engine.connect() as conn:
        frame = pd.read_sql(f"SELECT * FROM {table} ORDER BY order_id", conn)
    engine.dispose()
    return frame


def _pg_env(postgres, **more: str) -> dict[str, str]:
    return {"PGPORT": str(postgres.port), "WAREHOUSE_PASSWORD": postgres.password, **more}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_postgres_tables_in_chunks_with_lineage(postgres, tmp_path):
    _seed_postgres(postgres)
    work, run = episode(tmp_path)
    done = run(work / "lineage_flow.py", "run", "--profile", "pg", **_pg_env(postgres))
    assert done.returncode == 0, done.output
    assert "snap_total 20.0 profile pg" in done.stdout
    scored = _read_postgres(postgres, "scored_orders")
    assert list(scored["score"]) == [21.0, 6.0, 13.0]  # written with COPY
    store = run.store("LineageFlow")
    start = store.read_manifest("1", "start", store.tasks("1", "start")[0])
    where = f"postgresql+psycopg://flowkit@127.0.0.1:{postgres.port}/shop"
    assert [r.location for r in start.lineage] == [f"{where}#orders", f"{where}#scored_orders"]
    assert start.lineage[0].rows == 3 and start.lineage[1].rows == 3
    assert start.lineage[0].profile == "pg"
    # read in chunks of 2 rows, hashed as they came: the hash of the whole table all the same
    from flowkit.catalog.tables import frame_hash

    assert start.lineage[0].content_hash == frame_hash(ORDERS)


def test_unreachable_server_and_wrong_password_name_dataset_and_profile(postgres, tmp_path):
    _seed_postgres(postgres)
    work, run = episode(tmp_path)
    port = _free_port()
    down = run(
        work / "lineage_flow.py",
        "run",
        "--profile",
        "pg",
        **_pg_env(postgres, LINEAGE_EXTRA_LOAD="down_orders", DOWN_PORT=str(port)),
    )
    assert down.returncode != 0
    assert (
        f"dataset 'down_orders' (profile 'pg'): cannot connect to "
        f"postgresql+psycopg://flowkit@127.0.0.1:{port}/shop" in down.stderr
    )
    wrong = run(
        work / "lineage_flow.py",
        "run",
        "--profile",
        "pg",
        PGPORT=str(postgres.port),
        WAREHOUSE_PASSWORD="not-the-password",
    )
    assert wrong.returncode != 0
    assert "dataset 'orders' (profile 'pg'): cannot connect" in wrong.stderr
    assert "password authentication failed" in wrong.stderr
    assert "not-the-password" not in wrong.output


def _seed_s3(seaweedfs, prefix: str) -> None:
    buffer = io.BytesIO()
    ORDERS.to_parquet(buffer, index=False)
    seaweedfs.client().put_object(
        Bucket=seaweedfs.bucket, Key=f"{prefix}/orders/data.parquet", Body=buffer.getvalue()
    )


def _s3_env(seaweedfs, tmp_path, work) -> dict[str, str]:
    credentials = tmp_path / "home" / "credentials.toml"
    credentials.parent.mkdir(exist_ok=True)
    credentials.write_text(
        f'[team_s3]\nkey = "{seaweedfs.access_key}"\nsecret = "{seaweedfs.secret_key}"\n'
    )
    env = seaweedfs.env()
    env.pop("AWS_ACCESS_KEY_ID")  # the keys come from the credentials file only
    env.pop("AWS_SECRET_ACCESS_KEY")
    env.update(
        FLOWKIT_CREDENTIALS_FILE=str(credentials),
        FLOWKIT_S3_ENDPOINT_URL=seaweedfs.endpoint,
        BUCKET=seaweedfs.bucket,
        FLOWKIT_DATASTORE_ROOT=str(tmp_path / "datastore"),
    )
    return env


def test_s3_parquet_with_a_credential_from_the_credentials_file(seaweedfs, tmp_path):
    work, run = episode(tmp_path)
    _seed_s3(seaweedfs, "lineage")
    env = _s3_env(seaweedfs, tmp_path, work)
    run.env = env
    done = run(work / "lineage_flow.py", "run", "--profile", "s3")
    assert done.returncode == 0, done.output
    assert "snap_total 20.0 profile s3" in done.stdout
    body = (
        seaweedfs.client()
        .get_object(Bucket=seaweedfs.bucket, Key="lineage/scored/data.parquet")["Body"]
        .read()
    )
    assert list(pd.read_parquet(io.BytesIO(body))["score"]) == [21.0, 6.0, 13.0]
    store = run.store("LineageFlow")
    start = store.read_manifest("1", "start", store.tasks("1", "start")[0])
    assert start.lineage[0].location == f"s3://{seaweedfs.bucket}/lineage/orders/data.parquet"


def _variants(data: bytes) -> list[bytes]:
    """The bytes, and their decompressed form where they are compressed (code snapshots)."""
    found = [data]
    for decompress in (gzip.decompress, zlib.decompress):
        try:
            found.append(decompress(data))
        except Exception:
            pass
    return found


def test_sentinel_secrets_are_stored_nowhere(postgres, seaweedfs, tmp_path):
    _seed_postgres(postgres)
    _seed_s3(seaweedfs, "lineage")
    work, run = episode(tmp_path)
    sentinels = [postgres.password.encode(), seaweedfs.secret_key.encode()]
    outputs: list[str] = []
    env = {**_s3_env(seaweedfs, tmp_path, work), **_pg_env(postgres)}
    run.env = env

    ok_pg = run(work / "lineage_flow.py", "run", "--profile", "pg")
    assert ok_pg.returncode == 0, ok_pg.output
    # a failing query whose error text contains the password (the driver echoes the value)
    echo = run(
        work / "lineage_flow.py",
        "run",
        "--profile",
        "pg",
        LINEAGE_EXTRA_LOAD="echo_query",
        ECHO_TEXT=f"postgresql://flowkit:{postgres.password}@127.0.0.1/shop",
    )
    assert echo.returncode != 0
    assert "dataset 'echo_query' (profile 'pg'): the database refused the query" in echo.stderr
    assert "postgresql://flowkit:***@127.0.0.1/shop" in echo.stderr  # scrubbed, not dropped
    ok_s3 = run(work / "lineage_flow.py", "run", "--profile", "s3")
    assert ok_s3.returncode == 0, ok_s3.output
    resumed = run(work / "lineage_flow.py", "resume", "--origin-run-id", "2", "--profile", "pg")
    assert resumed.returncode == 0, resumed.output  # the re-run end step reconnects
    shown = run(CLI[0], CLI[1], "show", "LineageFlow/2")
    logs = run(CLI[0], CLI[1], "logs", "LineageFlow/2/end")
    outputs += [r.output for r in (ok_pg, echo, ok_s3, resumed, shown, logs)]

    files = [p for p in (tmp_path / "datastore").rglob("*") if p.is_file()]
    assert len(files) > 20  # runs, manifests, logs, artifacts, code snapshots
    stored = b"".join(path.read_bytes() for path in files)
    assert b"postgresql://flowkit:***@127.0.0.1/shop" in stored  # the failure was recorded
    for path in files:
        for data in _variants(path.read_bytes()):
            for sentinel in sentinels:
                assert sentinel not in data, f"secret found in {path}"
    for text in outputs:
        for sentinel in sentinels:
            assert sentinel.decode() not in text


def test_postgres_round_trip_keeps_nulls_types_and_content_hash(postgres, tmp_path, monkeypatch):
    from flowkit.catalog import TaskCatalog

    catalog = tmp_path / "catalog.toml"
    catalog.write_text(
        "[datasets.events]\n"
        'type = "sql_table"\n'
        f'location = "{postgres.url}"\n'
        'table = "events"\n'
        'credential = "warehouse"\n'
        "chunksize = 3\n"
        "[credentials.warehouse]\n"
        'source = "env"\n'
        'env = { password = "FK_PG_PASSWORD" }\n'
    )
    monkeypatch.setenv("FLOWKIT_CATALOG", str(catalog))
    monkeypatch.setenv("FK_PG_PASSWORD", postgres.password)
    monkeypatch.delenv("FLOWKIT_PROFILE", raising=False)
    events = pd.DataFrame(
        {
            "id": range(7),
            "value": [1.5, None, 3.0, float("nan"), 5.0, 6.25, 7.0],
            "name": ["a", None, "c", "d", "e", "f", "g"],
            "at": pd.to_datetime(["2024-01-01", None, "2024-01-03"] + ["2024-02-01"] * 4),
        }
    )
    from flowkit.catalog import sql

    session = TaskCatalog()
    session.save("events", events)  # 7 rows in chunks of 3 through COPY
    back = session.load("events")
    # one engine (one pool) for both, keyed by the credential's name, no password in the key
    assert list(sql._ENGINES) == [("warehouse", postgres.url)]
    session.close()
    assert back["value"].isna().tolist() == [False, True, False, True, False, False, False]
    assert back["name"].isna().tolist() == [False, True] + [False] * 5
    assert back["at"].isna().tolist() == [False, True] + [False] * 5
    assert back["value"].sum() == events["value"].sum()
    saved, loaded = session.lineage
    assert (saved.mode, loaded.mode, saved.rows, loaded.rows) == ("save", "load", 7, 7)
    # the same values and types back: the same content and schema hashes in the lineage
    assert back.dtypes.astype(str).tolist() == events.dtypes.astype(str).tolist()
    assert (saved.content_hash, saved.schema_hash) == (loaded.content_hash, loaded.schema_hash)
