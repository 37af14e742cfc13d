"""Credentials: a Secret never shows or pickles its value; env, file and AWS Secrets Manager
sources; a missing credential names the dataset and the profile."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from flowkit.catalog import MissingCredential, Secret
from flowkit.catalog.secrets import resolve_credential, scrub


def test_a_secret_prints_as_stars_and_cannot_be_pickled() -> None:
    secret = Secret("s3cr3t-value")
    assert str(secret) == "***" and f"{secret}" == "***" and "s3cr3t" not in repr(secret)
    assert secret.reveal() == "s3cr3t-value"
    with pytest.raises(TypeError, match="never stored"):
        pickle.dumps(secret)
    assert scrub("login failed for s3cr3t-value@db") == "login failed for ***@db"


def test_env_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WH_PASSWORD", "pw-from-env")
    found = resolve_credential(
        "warehouse",
        {"source": "env", "env": {"password": "WH_PASSWORD"}},
        dataset="orders",
        profile="prod",
        credentials_file=None,
    )
    assert found["password"].reveal() == "pw-from-env"
    monkeypatch.delenv("WH_PASSWORD")
    with pytest.raises(MissingCredential) as caught:
        resolve_credential(
            "warehouse",
            {"source": "env", "env": {"password": "WH_PASSWORD"}},
            dataset="orders",
            profile="prod",
            credentials_file=None,
        )
    message = str(caught.value)
    assert "credential 'warehouse' of dataset 'orders' (profile 'prod')" in message
    assert "environment variable WH_PASSWORD (its password) is not set" in message


def test_file_source(tmp_path: Path) -> None:
    path = tmp_path / "credentials.toml"
    path.write_text('[team_s3]\nkey = "AK"\nsecret = "file-secret"\n')
    found = resolve_credential(
        "team_s3", {}, dataset="orders", profile="team", credentials_file=str(path)
    )
    assert (found["key"].reveal(), found["secret"].reveal()) == ("AK", "file-secret")
    with pytest.raises(MissingCredential, match=r"'other' .* is not in the credentials file"):
        resolve_credential(
            "other", {}, dataset="orders", profile="team", credentials_file=str(path)
        )
    with pytest.raises(MissingCredential, match="which does not exist"):
        resolve_credential(
            "team_s3",
            {},
            dataset="orders",
            profile="team",
            credentials_file=str(tmp_path / "nope.toml"),
        )


def test_aws_secrets_manager_source(moto_s3, monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3

    for name, value in moto_s3.env({}).items():
        monkeypatch.setenv(name, value)
    client = boto3.client("secretsmanager", region_name="us-east-1")
    client.create_secret(
        Name="prod/warehouse", SecretString=json.dumps({"username": "u", "password": "aws-pw"})
    )
    found = resolve_credential(
        "warehouse",
        {"source": "aws_secrets", "secret_id": "prod/warehouse", "region": "us-east-1"},
        dataset="orders",
        profile="prod",
        credentials_file=None,
    )
    assert found["password"].reveal() == "aws-pw"
    with pytest.raises(MissingCredential, match="'prod/nope' cannot be read"):
        resolve_credential(
            "warehouse",
            {"source": "aws_secrets", "secret_id": "prod/nope", "region": "us-east-1"},
            dataset="orders",
            profile="prod",
            credentials_file=None,
        )
