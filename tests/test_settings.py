"""Settings: the S3 part — standard AWS variables, precedence, validation, masked display."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from s3servers import isolated_aws_env

from flowkit.errors import ConfigError
from flowkit.settings import describe_settings, load_settings, redact_url


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No AWS or FLOWKIT variable from the machine, and no config file."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "FLOWKIT_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("FLOWKIT_CONFIG", str(tmp_path / "config.json"))


def test_standard_aws_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9000")
    monkeypatch.setenv("AWS_PROFILE", "team")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "7")
    settings = load_settings()
    assert settings.s3_endpoint_url == "http://127.0.0.1:9000"
    assert settings.aws_profile == "team"
    assert settings.aws_region == "eu-west-1"
    assert settings.s3_max_attempts == 7


def test_precedence_flag_then_flowkit_variable_then_aws_variable_then_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "config.json").write_text(
        json.dumps({"s3_endpoint_url": "http://file", "aws_region": "file-region"})
    )
    assert load_settings().s3_endpoint_url == "http://file"
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://generic")
    assert load_settings().s3_endpoint_url == "http://generic"
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://s3-specific")
    assert load_settings().s3_endpoint_url == "http://s3-specific"
    monkeypatch.setenv("FLOWKIT_S3_ENDPOINT_URL", "http://flowkit")
    assert load_settings().s3_endpoint_url == "http://flowkit"
    assert load_settings(s3_endpoint_url="http://flag").s3_endpoint_url == "http://flag"
    assert load_settings().aws_region == "file-region"
    monkeypatch.setenv("AWS_REGION", "env-region")
    assert load_settings().aws_region == "env-region"


@pytest.mark.parametrize(
    ("name", "value"),
    [("FLOWKIT_S3_CONDITIONAL_WRITES", "maybe"), ("FLOWKIT_S3_MAX_ATTEMPTS", "0")],
)
def test_invalid_s3_settings(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError):
        load_settings()


def test_passwords_in_urls_are_masked() -> None:
    assert redact_url("http://user:hunter2@host:9000/x") == "http://user:****@host:9000/x"
    assert redact_url("s3://bucket/prefix") == "s3://bucket/prefix"
    shown = describe_settings(
        load_settings(datastore_root="s3://b/p", s3_endpoint_url="http://u:pw@h")
    )
    assert shown["s3_endpoint_url"] == "http://u:****@h"
    assert shown["datastore_root (effective)"] == "s3://b/p"


def test_flowkit_config_masks_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    from flowkit.cli.main import cli

    pytest.importorskip("botocore")
    env = isolated_aws_env({})
    env.update(
        FLOWKIT_DATASTORE_ROOT="s3://team-bucket/flowkit",
        AWS_ENDPOINT_URL="http://127.0.0.1:9",
        AWS_ACCESS_KEY_ID="AKIAFLOWKITTEST1234",
        AWS_SECRET_ACCESS_KEY="the-secret-never-printed",
    )
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for args in ([], ["--json"]):
        result = CliRunner().invoke(cli, ["config", *args])
        assert result.exit_code == 0, result.output
        assert "the-secret-never-printed" not in result.output
        assert "AKIAFLOWKITTEST1234" not in result.output
        assert "AKIA****34" in result.output
        assert "http://127.0.0.1:9" in result.output
    shown = json.loads(CliRunner().invoke(cli, ["config", "--json"]).output)
    assert shown["aws credentials"] == "from env: access key AKIA****34, secret key ****"
    assert shown["s3_max_attempts"] == 5


def test_plugin_settings_keep_their_names_and_sources(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from dataclasses import fields

    from flowkit.settings import Settings
    from flowkit_batch import SETTINGS

    assert "batch_queue" not in {f.name for f in fields(Settings)}  # the plugin owns them
    (tmp_path / "config.json").write_text(
        json.dumps({"batch_queue": "file-q", "batch_poll_interval": "2.5", "max_workers": 2})
    )
    assert load_settings().max_workers == 2  # the plugin's keys are not "unknown settings"
    loaded = SETTINGS.load()
    assert (loaded.queue, loaded.image, loaded.poll_interval) == ("file-q", None, 2.5)
    monkeypatch.setenv("FLOWKIT_BATCH_QUEUE", "env-q")
    monkeypatch.setenv("FLOWKIT_BATCH_IMAGE", "img:2")
    loaded = SETTINGS.load()
    assert (loaded.queue, loaded.image) == ("env-q", "img:2")
    assert SETTINGS.load(queue="flag-q", image=None).image == "img:2"
    shown = describe_settings(load_settings())
    assert (shown["batch_queue"], shown["batch_poll_interval"]) == ("env-q", 2.5)
    (tmp_path / "config.json").write_text(json.dumps({"batch_queu": "q"}))
    with pytest.raises(ConfigError, match="unknown setting\\(s\\) batch_queu") as typo:
        load_settings()
    assert "batch_queue" in typo.value.hint


def test_plugin_setting_with_a_bad_value_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from flowkit_batch import SETTINGS

    monkeypatch.setenv("FLOWKIT_BATCH_POLL_INTERVAL", "often")
    with pytest.raises(ConfigError, match="batch_poll_interval") as bad:
        SETTINGS.load()
    assert "FLOWKIT_BATCH_POLL_INTERVAL" in bad.value.hint


def test_declared_settings_cannot_shadow_flowkits_own() -> None:
    from dataclasses import dataclass

    from flowkit.extend import declare_settings

    @dataclass(frozen=True)
    class AwsSettings:
        profile: str | None = None

    with pytest.raises(TypeError, match="aws_profile"):
        declare_settings("aws", AwsSettings)
