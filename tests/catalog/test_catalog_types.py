"""Every file type saves and loads back through ``TaskCatalog`` (what ``self.catalog`` is),
with lineage facts where the type has them; wrong values get an error naming the dataset."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

from flowkit.catalog import CatalogError, TaskCatalog

CATALOG = """
[datasets.table_csv]
type = "csv"
location = "files/table.csv"

[datasets.table_json]
type = "json"
location = "files/table.json"

[datasets.table_parquet]
type = "parquet"
location = "files/parquet/"

[datasets.notes]
type = "text"
location = "files/notes.txt"

[datasets.blob]
type = "bytes"
location = "files/blob.bin"

[datasets.model]
type = "pickle"
location = "files/model.pkl"
"""


@pytest.fixture
def session(tmp_path, monkeypatch) -> TaskCatalog:
    (tmp_path / "catalog.toml").write_text(CATALOG)
    monkeypatch.setenv("FLOWKIT_CATALOG", str(tmp_path / "catalog.toml"))
    monkeypatch.delenv("FLOWKIT_PROFILE", raising=False)
    return TaskCatalog()


FRAME = pd.DataFrame({"order_id": [1, 2], "amount": [1.5, 2.5]})


@pytest.mark.parametrize("name", ["table_csv", "table_json", "table_parquet"])
def test_tables_round_trip(session, tmp_path, name):
    session.save(name, FRAME)
    back = session.load(name)
    pd.testing.assert_frame_equal(back, FRAME)
    saved, loaded = session.lineage
    assert saved.content_hash == loaded.content_hash  # the bytes written are the bytes read
    assert (saved.rows, loaded.rows) == (2, 2) and saved.schema_hash == loaded.schema_hash


def test_parquet_is_encoded_into_the_file_with_the_bytes_pandas_writes(session, tmp_path):
    """Parquet is streamed into the file (not held whole first), hashed on the way: a frame
    of less than one slice of rows gives the same bytes as ``to_parquet``; a frame the encoder
    refuses leaves the old file."""
    import io

    session.save("table_parquet", FRAME)
    written = (tmp_path / "files" / "parquet" / "data.parquet").read_bytes()
    expected = io.BytesIO()
    FRAME.to_parquet(expected, index=False)
    assert written == expected.getvalue()
    assert session.lineage[0].content_hash == hashlib.sha256(written).hexdigest()
    with pytest.raises(Exception, match="object"):
        session.save("table_parquet", pd.DataFrame({"order_id": [object()]}))
    assert (tmp_path / "files" / "parquet" / "data.parquet").read_bytes() == written
    assert len(session.lineage) == 1  # no lineage for the refused save


def test_text_bytes_and_pickle(session, tmp_path):
    session.save("notes", "héllo")
    session.save("blob", b"\x00\x01")
    session.save("model", {"weights": [1, 2, 3]})
    assert session.load("notes") == "héllo"
    assert session.load("blob") == b"\x00\x01"
    assert session.load("model") == {"weights": [1, 2, 3]}
    loaded = session.lineage[3:]
    assert [r.rows for r in loaded] == [None, None, None]  # not tables
    assert loaded[1].content_hash == hashlib.sha256(b"\x00\x01").hexdigest()
    assert (tmp_path / "files" / "blob.bin").read_bytes() == b"\x00\x01"


def test_wrong_values_and_missing_files_name_the_dataset(session):
    with pytest.raises(CatalogError, match=r"dataset 'table_csv' \(profile 'default'\) is a csv"):
        session.save("table_csv", [1, 2])
    with pytest.raises(CatalogError, match="of type bytes: save bytes, not a str"):
        session.save("blob", "text")
    with pytest.raises(CatalogError, match=r"dataset 'notes' \(profile 'default'\): .* does not"):
        session.load("notes")
