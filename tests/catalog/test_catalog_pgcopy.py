"""PostgreSQL loads through binary ``COPY`` (flowkit/catalog/pgcopy.py) give exactly the frame
``pandas.read_sql`` gives, and the content hash the ``read_sql`` path gives, on a real server:
every converted type with and without NULLs, all-NULL columns, edge values, duplicate column
names, a wrong row count; other types, ``load`` options and empty results take ``read_sql``."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from flowkit.catalog import TaskCatalog, pgcopy
from flowkit.catalog.errors import DatasetIOError
from flowkit.catalog.tables import frame_hash

TYPES = """
CREATE TABLE typed (
    id int4, i2 int2, i4 int4, i8 int8, f8 float8, tx text, vc varchar(12),
    bc char(4), b bool,
    i2n int2, i4n int4, i8n int8, f8n float8, txn text, vcn varchar(12),
    bcn char(4), bn bool,
    i8_nulls int8, f8_nulls float8, tx_nulls text, b_nulls bool
)
"""
# 24 rows: NULLs in the "…n" columns on some rows, the "…_nulls" columns all NULL;
# edge values: int limits, 2**53 + 1 (not a float64), NaN, ±inf, -0.0, unicode, padding
ROWS = """
INSERT INTO typed
SELECT g, (g * 1000 - 11000)::int2, g * 100000000 - 1000000000, 9223372036854775807 - g,
    g::float8 / 7, 'ü ' || g || ' ✓', 'v' || g, 'c' || (g % 10), g % 2 = 0,
    CASE WHEN g % 4 = 0 THEN NULL ELSE g END, CASE WHEN g % 5 = 1 THEN NULL ELSE -g END,
    CASE WHEN g % 6 = 2 THEN NULL ELSE 9007199254740993 + g END,
    CASE WHEN g % 7 = 0 THEN NULL ELSE g::float8 / 11 END,
    CASE WHEN g % 4 = 3 THEN NULL ELSE '' || repeat('é', g % 3) END,
    CASE WHEN g % 8 = 1 THEN NULL ELSE 'x' END,
    CASE WHEN g % 9 = 4 THEN NULL ELSE 'ab' END,
    CASE WHEN g % 5 = 0 THEN NULL ELSE g % 3 = 0 END,
    NULL, NULL, NULL, NULL
FROM generate_series(1, 20) g;
INSERT INTO typed (id, i2, i4, i8, f8, tx, vc, bc, b) VALUES
    (21, -32768, -2147483648, -9223372036854775808, '-0.0', '', '', '', true),
    (22, 32767, 2147483647, 9223372036854775807, 'NaN', '日本語', 'ß', 'z', false),
    (23, 0, 0, 0, 'Infinity', 'tab	and
newline', 'a', 'a ', true),
    (24, 1, 1, 1, '-Infinity', '%', '%%', 'b', false);
"""


@pytest.fixture(scope="module")
def engine(postgres):
    import sqlalchemy

    url = sqlalchemy.engine.make_url(postgres.url).set(password=postgres.password)
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as conn:
        raw = conn.connection.driver_connection  # no parameters: '%' is the operator
        raw.execute("DROP TABLE IF EXISTS typed")
        raw.execute(TYPES)
        raw.execute(ROWS)
    yield engine
    engine.dispose()


@pytest.fixture
def catalog(postgres, tmp_path, monkeypatch):
    """A function writing ``catalog.toml`` with the given datasets and returning a session."""
    sessions: list[TaskCatalog] = []

    def make(datasets: str) -> TaskCatalog:
        path = tmp_path / "catalog.toml"
        path.write_text(
            datasets.replace("URL", postgres.url) + "\n[credentials.warehouse]\n"
            'source = "env"\nenv = { password = "FK_PG_PASSWORD" }\n'
        )
        monkeypatch.setenv("FLOWKIT_CATALOG", str(path))
        monkeypatch.setenv("FK_PG_PASSWORD", postgres.password)
        monkeypatch.delenv("FLOWKIT_PROFILE", raising=False)
        sessions.append(TaskCatalog())
        return sessions[-1]

    yield make
    for session in sessions:
        session.close()


@pytest.fixture
def copied(monkeypatch) -> list[bool]:
    """Records, per load, whether the COPY path gave the frame (False: read_sql did)."""
    taken: list[bool] = []
    real = pgcopy.load

    def spy(*args, **kwargs):
        loaded = real(*args, **kwargs)
        taken.append(loaded is not None)
        return loaded

    monkeypatch.setattr(pgcopy, "load", spy)
    return taken


def _dataset(name: str, chunksize: int = 4, **fields: str) -> str:
    lines = [f"[datasets.{name}]", 'location = "URL"', 'credential = "warehouse"']
    lines += [f"{key} = {value}" for key, value in fields.items()]
    return "\n".join([*lines, f"chunksize = {chunksize}", ""])


def _read_sql(engine, sql: str) -> pd.DataFrame:
    import sqlalchemy

    with engine.connect() as conn:
        return pd.read_sql(sqlalchemy.text(sql), conn)


def test_every_converted_type_equals_read_sql(engine, catalog, copied):
    session = catalog(_dataset("typed", type='"sql_table"', table='"typed"'))
    loaded = session.load("typed")
    want = _read_sql(engine, "SELECT * FROM typed")
    assert copied == [True]
    assert_frame_equal(loaded, want, check_exact=True)
    assert isinstance(loaded.index, pd.RangeIndex) and len(loaded) == 24
    # what read_sql gives, spelled out (so a pandas change shows up here, not as a mystery)
    dtypes = dict(loaded.dtypes.astype(str))
    assert {dtypes[c] for c in ("i2", "i4", "i8")} == {"int64"}
    assert {dtypes[c] for c in ("f8", "i2n", "i4n", "i8n", "f8n")} == {"float64"}
    assert {dtypes[c] for c in ("tx", "vc", "bc", "txn", "vcn", "bcn")} == {"str"}
    assert dtypes["b"] == "bool"
    assert {dtypes[c] for c in ("bn", "i8_nulls", "f8_nulls", "tx_nulls", "b_nulls")} == {"object"}
    assert loaded["tx"].dtype == pd.StringDtype("pyarrow", na_value=np.nan)
    assert loaded["i8_nulls"].tolist() == [None] * 24
    assert {type(v) for v in loaded["bn"]} == {bool, type(None)}
    edge = loaded.set_index("id")
    assert edge.loc[21, "i8"] == -(2**63) and edge.loc[22, "i8"] == 2**63 - 1
    # 2**53 + 5 is no float64: rounded as read_sql rounds it
    assert edge.loc[4, "i8n"] == float(2**53 + 5) and int(edge.loc[4, "i8n"]) != 2**53 + 5
    assert math.isnan(edge.loc[22, "f8"]) and edge.loc[23, "f8"] == math.inf
    assert edge.loc[21, "f8"] == 0 and math.copysign(1, edge.loc[21, "f8"]) == -1  # -0.0
    assert edge.loc[22, "tx"] == "日本語" and edge.loc[23, "bc"] == "a   "
    # bit for bit where assert_frame_equal is lenient (-0.0 == 0.0, any NaN == NaN)
    for column in ("f8", "f8n", "i8n"):
        assert loaded[column].to_numpy().tobytes() == want[column].to_numpy().tobytes()


def test_query_with_duplicate_names_and_its_hash_equal_the_read_sql_path(engine, catalog, copied):
    query = '"SELECT id, i8n AS x, tx AS x, id FROM typed WHERE id <= 20 ORDER BY id;"'
    session = catalog(
        _dataset("by_copy", type='"sql_query"', query=query)
        # a load option (read_sql's own default) sends the same query through read_sql
        + _dataset("by_read_sql", type='"sql_query"', query=query, load="{coerce_float = true}")
    )
    loaded = session.load("by_copy")
    old = session.load("by_read_sql")
    assert copied == [True]
    assert list(loaded.columns) == ["id", "x", "x", "id"]
    assert_frame_equal(loaded, old, check_exact=True)
    assert_frame_equal(loaded, _read_sql(engine, query.strip('";')), check_exact=True)
    by_copy, by_read_sql = session.lineage
    assert by_copy.content_hash == by_read_sql.content_hash == frame_hash(old)
    assert by_copy.schema_hash == by_read_sql.schema_hash


def test_whole_table_hash_equals_read_sqls(engine, catalog):
    session = catalog(_dataset("typed", type='"sql_table"', table='"typed"', chunksize=5))
    session.load("typed")
    assert session.lineage[0].content_hash == frame_hash(_read_sql(engine, "SELECT * FROM typed"))


@pytest.mark.parametrize("error", [-5, 9, 1000])
def test_a_wrong_row_count_grows_or_cuts_the_columns(engine, catalog, copied, monkeypatch, error):
    real = pgcopy.count_rows

    def miscounted(*args):
        rows, sizes = real(*args)  # the text columns' bytes are wrong as well
        return rows + error, [max(size + error, 0) for size in sizes]

    monkeypatch.setattr(pgcopy, "count_rows", miscounted)
    session = catalog(_dataset("typed", type='"sql_table"', table='"typed"', chunksize=3))
    loaded = session.load("typed")
    assert copied == [True]
    assert_frame_equal(loaded, _read_sql(engine, "SELECT * FROM typed"), check_exact=True)


def test_a_volatile_query_loads_the_rows_its_copy_gave(catalog, copied):
    query = (
        '"SELECT g, g::text AS t, g % 2 = 0 AS even '
        'FROM generate_series(1, 1 + (random() * 40)::int) g"'
    )
    session = catalog(_dataset("dice", type='"sql_query"', query=query, chunksize=3))
    loaded = session.load("dice")
    assert copied == [True]
    assert 1 <= len(loaded) <= 41
    assert loaded["g"].tolist() == list(range(1, len(loaded) + 1))
    assert loaded["t"].tolist() == [str(g) for g in loaded["g"]]
    assert loaded["even"].tolist() == [g % 2 == 0 for g in loaded["g"]]


@pytest.mark.parametrize(
    "query",
    [
        "SELECT id, DATE '2024-01-01' + id AS day FROM typed",  # date: not converted here
        "SELECT id, (f8 / 3)::float4 AS f4 FROM typed",  # float4: read_sql reads its text
        "SELECT id, id::numeric / 3 AS ratio, interval '1 day' * id AS span FROM typed",
        "SELECT id, tx FROM typed WHERE false",  # empty: read_sql's object columns
        "SELECT 1 AS one -- a comment at the end",
    ],
)
def test_other_types_and_empty_results_take_read_sql(engine, catalog, copied, query):
    session = catalog(_dataset("other", type='"sql_query"', query=repr(query)))
    loaded = session.load("other")
    assert_frame_equal(loaded, _read_sql(engine, query), check_exact=True)
    assert copied == [query.startswith("SELECT 1")]  # the comment does not break the wrapping
    assert session.lineage[0].content_hash == frame_hash(loaded)


def test_a_query_that_writes_takes_read_sql(engine, catalog, copied):
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SEQUENCE IF EXISTS ticket")
        conn.exec_driver_sql("CREATE SEQUENCE ticket")
    query = "\"SELECT nextval('ticket') AS n, g FROM generate_series(1, 3) g ORDER BY g\""
    session = catalog(_dataset("tickets", type='"sql_query"', query=query))
    loaded = session.load("tickets")  # not allowed in the read-only snapshot of COPY
    assert copied == [False]
    assert loaded["n"].tolist() == [1, 2, 3] and loaded["n"].dtype == "int64"


def test_a_failing_copy_names_the_dataset_and_leaves_the_pool_usable(catalog):
    query = '"SELECT g, 10 / (g - 3) AS x FROM generate_series(1, 5) g"'
    session = catalog(
        _dataset("broken", type='"sql_query"', query=query)
        + _dataset("typed", type='"sql_table"', table='"typed"')
    )
    with pytest.raises(DatasetIOError) as caught:
        session.load("broken")
    assert "dataset 'broken'" in str(caught.value)
    assert "the database refused the query: division by zero" in str(caught.value)
    assert len(session.load("typed")) == 24  # the same pooled connection, rolled back
