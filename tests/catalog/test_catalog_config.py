"""The catalog file: datasets, profiles laid over defaults, factories, and the errors that name
the dataset and the profile."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowkit.catalog import (
    CatalogConfig,
    UnknownDataset,
    UnknownDatasetType,
    UnknownProfile,
)
from flowkit.catalog.errors import CatalogFileError

CATALOG = """
[datasets.orders]
type = "csv"
location = "data/orders.csv"
load = { sep = ";" }
schema = { order_id = "int64" }

[datasets."{region}_orders"]
type = "parquet"
location = "s3://team/{region}/orders/"

[datasets."{region}_{year}_sales"]
type = "sql_query"
location = "postgresql+psycopg://app@db:5432/shop"
query = "SELECT * FROM sales WHERE region = '{region}' AND year = {year}"

[profiles.team.datasets.orders]
type = "parquet"
location = "s3://team/orders/"
credential = "team_s3"

[profiles.prod.datasets.orders]
type = "sql_table"
location = "postgresql+psycopg://app@db:5432/shop"
table = "public.orders"
credential = "warehouse"

[credentials.warehouse]
source = "env"
env = { password = "WAREHOUSE_PASSWORD" }
"""


def _config(tmp_path: Path, profile: str | None = None, text: str = CATALOG) -> CatalogConfig:
    path = tmp_path / "catalog.toml"
    path.write_text(text)
    return CatalogConfig.from_file(path, profile)


def test_default_profile_resolves_relative_paths_next_to_the_catalog(tmp_path: Path) -> None:
    spec = _config(tmp_path).resolve("orders")
    assert (spec.type, spec.profile) == ("csv", "default")
    assert spec.location == str((tmp_path / "data" / "orders.csv").resolve())
    assert spec.load_options == {"sep": ";"}


def test_a_profile_overrides_location_and_type_and_drops_the_old_types_options(
    tmp_path: Path,
) -> None:
    team = _config(tmp_path, "team").resolve("orders")
    assert (team.type, team.location, team.credential) == (
        "parquet",
        "s3://team/orders/",
        "team_s3",
    )
    assert team.load_options == {}  # csv's sep would break the parquet reader
    assert team.schema == {"order_id": "int64"}  # the schema belongs to the data, kept
    prod = _config(tmp_path, "prod").resolve("orders")
    assert (prod.type, prod.table, prod.shown_location) == (
        "sql_table",
        "public.orders",
        "postgresql+psycopg://app@db:5432/shop#public.orders",
    )


def test_factories_fill_every_placeholder_and_the_most_specific_wins(tmp_path: Path) -> None:
    config = _config(tmp_path)
    emea = config.resolve("emea_orders")
    assert (emea.location, emea.pattern) == ("s3://team/emea/orders/", "{region}_orders")
    sales = config.resolve("apac_2024_sales")
    assert sales.query == "SELECT * FROM sales WHERE region = 'apac' AND year = 2024"
    assert sales.pattern == "{region}_{year}_sales"


def test_unknown_dataset_suggests_the_closest_name(tmp_path: Path) -> None:
    with pytest.raises(UnknownDataset) as caught:
        _config(tmp_path, "prod").resolve("order")
    message = str(caught.value)
    assert "no dataset 'order' in profile 'prod'" in message and 'Did you mean "orders"' in message


def test_unknown_profile_lists_the_profiles(tmp_path: Path) -> None:
    with pytest.raises(UnknownProfile) as caught:
        _config(tmp_path, "prdo")
    assert "no profile 'prdo'" in str(caught.value) and 'Did you mean "prod"' in str(caught.value)
    assert "default, prod, team" in str(caught.value)


def test_unknown_type_names_dataset_profile_and_suggests(tmp_path: Path) -> None:
    text = '[datasets.orders]\ntype = "parquett"\nlocation = "x.parquet"\n'
    with pytest.raises(UnknownDatasetType) as caught:
        _config(tmp_path, text=text).resolve("orders")
    message = str(caught.value)
    assert "dataset 'orders' (profile 'default')" in message
    assert 'Did you mean "parquet"' in message


def test_a_password_in_a_location_is_refused_without_repeating_it(tmp_path: Path) -> None:
    text = (
        '[datasets.orders]\ntype = "sql_table"\ntable = "orders"\n'
        'location = "postgresql://app:hunter22@db/shop"\n'
    )
    with pytest.raises(CatalogFileError) as caught:
        _config(tmp_path, text=text).resolve("orders")
    assert "password in its location" in str(caught.value)
    assert "hunter22" not in str(caught.value)


def test_unknown_keys_and_sections_are_errors_with_suggestions(tmp_path: Path) -> None:
    text = '[datasets.orders]\ntype = "csv"\nlocaton = "x.csv"\n'
    with pytest.raises(CatalogFileError, match='Did you mean "location"'):
        _config(tmp_path, text=text).resolve("orders")
    with pytest.raises(CatalogFileError, match='Did you mean "datasets"'):
        _config(tmp_path, text='[dataset.orders]\ntype = "csv"\n')


def test_a_missing_or_broken_catalog_file_says_which(tmp_path: Path) -> None:
    with pytest.raises(CatalogFileError, match="no data catalog at"):
        CatalogConfig.from_file(tmp_path / "nope.toml")
    with pytest.raises(CatalogFileError, match="not valid TOML"):
        _config(tmp_path, text="[datasets.orders\n")


def test_environment_references_in_strings(tmp_path: Path, monkeypatch) -> None:
    text = (
        '[datasets.orders]\ntype = "sql_table"\ntable = "orders"\n'
        'location = "postgresql+psycopg://app@${PGHOST:-localhost}:${FK_TEST_PORT}/shop"\n'
    )
    monkeypatch.setenv("FK_TEST_PORT", "6543")
    monkeypatch.delenv("PGHOST", raising=False)
    spec = _config(tmp_path, text=text).resolve("orders")
    assert spec.location == "postgresql+psycopg://app@localhost:6543/shop"
    monkeypatch.delenv("FK_TEST_PORT")
    with pytest.raises(CatalogFileError, match=r"uses \$\{FK_TEST_PORT\}, which is not set"):
        _config(tmp_path, text=text).resolve("orders")
