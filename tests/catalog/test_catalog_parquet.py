"""Parquet datasets read a column at a time and written a slice at a time give exactly what
``pandas.read_parquet`` / ``to_parquet`` give; what the column reader cannot rebuild exactly
goes through ``read_parquet``; S3 files are fetched into a temporary file that never stays."""

from __future__ import annotations

import hashlib
import io
import os
import tempfile

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flowkit.catalog import CatalogError, TaskCatalog, parquet
from flowkit.datastore.flowstore import FlowDatastore
from flowkit.datastore.storage import ByteStorage

ROWS = 20_000  # several read batches (4,096 rows) and, with SLICE, several row groups
SLICE = 3_000


@pytest.fixture(autouse=True)
def small_slices(monkeypatch):
    monkeypatch.setattr(parquet, "_SLICE_ROWS", SLICE)


def _plain(rows: int = ROWS) -> pd.DataFrame:
    """Every column type the column reader builds itself, with missing values where pandas
    keeps the dtype."""
    rng = np.random.default_rng(3)
    amount = rng.random(rows) * 100
    amount[::7] = np.nan
    region = rng.choice(["emea", "apac", "amér", ""], rows).astype(object)
    region[::11] = None
    return pd.DataFrame(
        {
            "order_id": np.arange(rows, dtype="int64"),
            "small": rng.integers(-100, 100, rows).astype("int8"),
            "count": rng.integers(0, 2**40, rows).astype("uint64"),
            "amount": amount,
            "ratio": rng.random(rows).astype("float32"),
            "paid": rng.random(rows) > 0.5,
            "region": pd.array(region, dtype="str"),
        }
    )


def _others(rows: int = ROWS) -> dict[str, pd.DataFrame]:
    """Frames with a column or an index the column reader leaves to ``read_parquet``."""
    base = _plain(rows)[["order_id", "amount"]]
    nullable = pd.array(np.arange(rows), dtype="Int64")
    nullable[::5] = pd.NA
    return {
        "nullable ints": base.assign(n=nullable),
        "datetimes with tz": base.assign(
            at=pd.date_range("2024-01-01", periods=rows, freq="min", tz="Europe/Paris")
        ),
        "naive datetimes": base.assign(at=pd.date_range("2024-01-01", periods=rows, freq="s")),
        "categoricals": base.assign(c=pd.Categorical(["a", "b", "c", "a"] * (rows // 4))),
        "objects": base.assign(o=[[i] for i in range(rows)]),
        "float16": base.assign(h=np.ones(rows, dtype="float16")),
        "string with NA": base.assign(s=pd.array(["a", None] * (rows // 2), dtype="string")),
        "python strings": base.assign(
            s=pd.array(["a", "b"] * (rows // 2), dtype=pd.StringDtype("python"))
        ),
        "string index": base.set_index(pd.Index([f"k{i}" for i in range(rows)], name="key")),
    }


def _pandas_file(frame: pd.DataFrame, path, **options) -> str:
    frame.to_parquet(path, **options)
    return str(path)


def _check(path: str) -> pd.DataFrame:
    got = parquet.read_frame(path)
    pd.testing.assert_frame_equal(got, pd.read_parquet(path), check_exact=True)
    return got


def test_plain_columns_are_read_by_columns_exactly_as_read_parquet(tmp_path):
    frame = _plain()
    frame.attrs = {"source": "shop"}
    frame.columns.name = "field"
    for name, options in [
        ("index-false", {"index": False}),
        ("range-index", {}),  # the range is stored in the metadata, not as a column
        ("shifted-range", {}),
    ]:
        data = (
            frame
            if name != "shifted-range"
            else frame.set_axis(pd.RangeIndex(10, 10 + 3 * ROWS, 3, name="n"))
        )
        path = _pandas_file(data, tmp_path / f"{name}.parquet", **options)
        got = parquet._read_by_columns(path)  # not the fallback: this path itself
        pd.testing.assert_frame_equal(got, pd.read_parquet(path), check_exact=True)
        assert got.attrs == {"source": "shop"}
        got.iloc[0, 0] = -1  # a frame like any other: writable
        assert got.iloc[0, 0] == -1


def test_files_of_other_writers_and_types_fall_back_to_read_parquet(tmp_path):
    for name, frame in _others().items():
        path = _pandas_file(frame, tmp_path / f"{name}.parquet")
        if name not in ("float16",):
            with pytest.raises(parquet._Unsupported):
                parquet._read_by_columns(path)
        _check(path)
    # pyarrow's own files: no pandas metadata, 32-bit offsets, missing ints and booleans
    table = pa.table(
        {
            "i": pa.array([1, None, 3] * 4000, pa.int64()),
            "b": pa.array([True, None, False] * 4000),
            "s": pa.array(["x", None, "z"] * 4000, pa.string()),
            "f": pa.array([1.5, None, 2.5] * 4000),
        }
    )
    for columns in (["s", "f"], ["i"], ["b"], ["i", "b", "s", "f"]):
        path = str(tmp_path / f"arrow-{''.join(columns)}.parquet")
        pq.write_table(table.select(columns), path, row_group_size=5000)
        got = _check(path)
        assert list(got.columns) == columns
    empty = _pandas_file(_plain(0), tmp_path / "empty.parquet", index=False)
    _check(empty)


def test_load_options_are_read_parquets(tmp_path):
    path = _pandas_file(_plain(), tmp_path / "t.parquet", index=False)
    got = parquet.read_frame(path, {"columns": ["region", "amount"]})
    expected = pd.read_parquet(path, columns=["region", "amount"])
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


@pytest.mark.parametrize("rows", [0, 1, SLICE, ROWS])
def test_frames_written_by_slices_read_back_as_to_parquets(rows):
    frame = _plain(rows).set_axis(pd.RangeIndex(5, 5 + rows))  # dropped, as with index=False
    sink = io.BytesIO()
    parquet.write_frame(frame, sink)
    expected = io.BytesIO()
    frame.to_parquet(expected, index=False)
    back = pd.read_parquet(io.BytesIO(sink.getvalue()))
    pd.testing.assert_frame_equal(back, pd.read_parquet(expected), check_exact=True)
    if not rows:  # no slices: to_parquet's file
        assert sink.getvalue() == expected.getvalue()
        return
    metadata = pq.ParquetFile(io.BytesIO(sink.getvalue())).metadata
    assert metadata.num_row_groups == -(-rows // SLICE)
    # and the column reader rebuilds it exactly too
    sink.seek(0)
    pd.testing.assert_frame_equal(
        parquet._read_by_columns(sink), pd.read_parquet(expected), check_exact=True
    )


def test_frames_of_other_types_are_written_by_to_parquet():
    two_levels = pd.MultiIndex.from_tuples([("x", "y"), ("x", "z")])
    others = {k: v for k, v in _others().items() if k != "string index"}  # plain columns
    for name, frame in {
        **others,
        "attrs": _plain().assign(),
        "column levels": pd.DataFrame([[1, "a"], [2, "b"]], columns=two_levels),
    }.items():
        if name == "attrs":
            frame.attrs = {"a": 1}
        sink, expected = io.BytesIO(), io.BytesIO()
        parquet.write_frame(frame, sink)
        frame.to_parquet(expected, index=False)
        assert sink.getvalue() == expected.getvalue(), name


CATALOG = """
[datasets.big]
type = "parquet"
location = "s3://{bucket}/pqmem/big/"

[datasets.missing]
type = "parquet"
location = "s3://{bucket}/pqmem/nothing-here.parquet"

[datasets.local]
type = "parquet"
location = "{local}/local/"
"""


@pytest.fixture
def s3_catalog(seaweedfs, tmp_path, monkeypatch):
    for name, value in seaweedfs.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("FLOWKIT_S3_ENDPOINT_URL", seaweedfs.endpoint)
    (tmp_path / "catalog.toml").write_text(
        CATALOG.format(bucket=seaweedfs.bucket, local=tmp_path.as_posix())
    )
    monkeypatch.setenv("FLOWKIT_CATALOG", str(tmp_path / "catalog.toml"))
    monkeypatch.delenv("FLOWKIT_PROFILE", raising=False)
    store = FlowDatastore(ByteStorage(str(tmp_path / "datastore")), "PqFlow")
    return TaskCatalog(store=store), store


def _leftovers() -> list[str]:
    return [n for n in os.listdir(tempfile.gettempdir()) if n.startswith("flowkit-dataset-")]


@pytest.mark.parametrize("name", ["big", "local"])
def test_s3_and_local_parquet_round_trip_with_snapshot_and_hashes(
    s3_catalog, seaweedfs, tmp_path, name
):
    catalog, store = s3_catalog
    if name == "big":  # the snapshot goes to an S3 datastore, streamed from the file
        store = FlowDatastore(ByteStorage(f"s3://{seaweedfs.bucket}/pqmem-store"), "PqFlow")
        catalog = TaskCatalog(store=store)
    frame = _plain()
    catalog.save(name, frame)
    loaded = catalog.load(name, snapshot=True)
    pd.testing.assert_frame_equal(loaded, frame, check_exact=True)
    if name == "big":
        body = (
            seaweedfs.client()
            .get_object(Bucket=seaweedfs.bucket, Key="pqmem/big/data.parquet")["Body"]
            .read()
        )
    else:
        body = (tmp_path / "local" / "data.parquet").read_bytes()
    saved, read = catalog.lineage
    digest = hashlib.sha256(body).hexdigest()
    assert saved.content_hash == read.content_hash == digest
    assert read.snapshot == digest and bytes(store.content.get(digest)) == body
    assert pq.ParquetFile(io.BytesIO(body)).metadata.num_row_groups == -(-ROWS // SLICE)
    assert _leftovers() == []


def test_a_missing_s3_file_names_the_dataset_and_leaves_no_temporary_file(s3_catalog):
    catalog, _ = s3_catalog
    with pytest.raises(CatalogError, match=r"dataset 'missing' .*nothing-here.parquet does not"):
        catalog.load("missing")
    assert _leftovers() == []


def test_a_failing_decode_still_removes_the_temporary_file(s3_catalog, seaweedfs):
    catalog, _ = s3_catalog
    seaweedfs.client().put_object(
        Bucket=seaweedfs.bucket, Key="pqmem/big/data.parquet", Body=b"not parquet at all"
    )
    with pytest.raises(Exception, match=r"(?i)parquet"):
        catalog.load("big")
    assert _leftovers() == []
