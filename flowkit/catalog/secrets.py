"""Credentials: resolved at the moment of use, held as :class:`Secret`, never written anywhere.

A catalog names a credential (``credential = "warehouse"``); where its fields come from is
declared under ``[credentials.<name>]``:

- ``source = "env"``: ``env = {username = "PGUSER", password = "PGPASSWORD"}`` names the
  environment variables holding each field;
- ``source = "file"`` (the default): the table ``[<name>]`` of the credentials file, which lives
  outside the project (setting ``credentials_file``, default ``~/.flowkit/credentials.toml``);
- ``source = "aws_secrets"``: ``secret_id = "..."``, an AWS Secrets Manager secret whose value
  is a JSON object of fields (the AWS SDK's usual configuration applies).

Every value resolved is remembered in this process only, so :func:`scrub` can remove it from
any text (an error message from a database driver) before the text is shown or recorded.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from flowkit.catalog.errors import MissingCredential
from flowkit.catalog.toml import read_toml

SOURCES = ("env", "file", "aws_secrets")
_MASK = "***"
# Every secret value resolved by this process: what scrub() removes from text.
_REVEALED: set[str] = set()


class Secret:
    """A secret value: printed, formatted and repr'd as ``***``, and refusing to be pickled.

    Refusing pickling is what keeps a secret out of artifacts: a step that stores one in
    ``self`` fails with flowkit's "cannot be serialized" error instead of writing it.

    Args:
        value: The secret itself.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        if len(value) >= 3:  # a one-letter secret would scrub every occurrence of the letter
            _REVEALED.add(value)

    def reveal(self) -> str:
        """The secret in clear, for the one call that needs it."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({_MASK!r})"

    def __str__(self) -> str:
        return _MASK

    def __format__(self, spec: str) -> str:
        return _MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> Any:
        raise TypeError("a Secret cannot be pickled: credentials are never stored")


def scrub(text: str) -> str:
    """``text`` with every secret this process has resolved replaced by ``***``."""
    for value in sorted(_REVEALED, key=len, reverse=True):
        if value in text:
            text = text.replace(value, _MASK)
    return text


def default_credentials_file() -> Path:
    """``~/.flowkit/credentials.toml``: outside any project, so never in a code snapshot."""
    return Path.home() / ".flowkit" / "credentials.toml"


def resolve_credential(
    name: str,
    declaration: dict[str, Any],
    *,
    dataset: str,
    profile: str,
    credentials_file: str | None,
) -> dict[str, Secret]:
    """Fetch the fields of credential ``name`` from where its declaration says.

    Args:
        name: The credential's name in the catalog.
        declaration: Its ``[credentials.<name>]`` table (empty: the credentials file).
        dataset: The dataset that needs it, for the error message.
        profile: The profile in force, for the error message.
        credentials_file: The credentials file's path (the setting), or ``None``.

    Returns:
        Field name (``username``, ``password``, ``key``, ``secret`` ...) to value.

    Raises:
        MissingCredential: The credential or one of its fields cannot be found.
    """
    source = declaration.get("source", "file")
    where = f"credential {name!r} of dataset {dataset!r} (profile {profile!r})"
    if source == "env":
        return _from_env(name, declaration, where)
    if source == "file":
        return _from_file(name, credentials_file, where)
    if source == "aws_secrets":
        return _from_aws(name, declaration, where)
    raise MissingCredential(
        f"{where} has source {source!r}",
        hint=f"use one of {', '.join(SOURCES)} in [credentials.{name}]",
    )


def _from_env(name: str, declaration: dict[str, Any], where: str) -> dict[str, Secret]:
    variables = declaration.get("env")
    if not isinstance(variables, dict) or not variables:
        raise MissingCredential(
            f"{where} comes from the environment but names no variables",
            hint=f'add env = {{password = "VARIABLE"}} to [credentials.{name}]',
        )
    found: dict[str, Secret] = {}
    for field, variable in variables.items():
        value = os.environ.get(str(variable))
        if value is None:
            raise MissingCredential(
                f"{where}: environment variable {variable} (its {field}) is not set",
                hint=f"export {variable}=... before running the flow",
            )
        found[str(field)] = Secret(value)
    return found


def _from_file(name: str, path_setting: str | None, where: str) -> dict[str, Secret]:
    path = Path(path_setting).expanduser() if path_setting else default_credentials_file()
    if not path.is_file():
        raise MissingCredential(
            f"{where} is read from the credentials file {path}, which does not exist",
            hint=f"create {path} with a [{name}] table, or set FLOWKIT_CREDENTIALS_FILE",
        )
    table = read_toml(path, "credentials file").get(name)
    if not isinstance(table, dict):
        raise MissingCredential(
            f"{where} is not in the credentials file {path}",
            hint=f"add a [{name}] table with its fields (username, password ...) to {path}",
        )
    return {str(k): Secret(str(v)) for k, v in table.items()}


def _from_aws(name: str, declaration: dict[str, Any], where: str) -> dict[str, Secret]:
    secret_id = declaration.get("secret_id")
    if not secret_id:
        raise MissingCredential(
            f"{where} comes from AWS Secrets Manager but names no secret",
            hint=f'add secret_id = "..." to [credentials.{name}]',
        )
    try:
        import boto3  # lazy: only a catalog using Secrets Manager needs it
    except ImportError:
        raise MissingCredential(
            f"{where} comes from AWS Secrets Manager, which needs boto3",
            hint="pip install 'flowkit[aws]'",
        ) from None
    region = declaration.get("region")
    try:
        client = boto3.client("secretsmanager", region_name=region)
        answer = client.get_secret_value(SecretId=str(secret_id))
    except Exception as exc:  # botocore's errors are many; all mean "not available"
        raise MissingCredential(
            f"{where}: AWS Secrets Manager secret {secret_id!r} cannot be read "
            f"({type(exc).__name__})",
            hint="check the secret's name, the region and the AWS credentials of this machine",
        ) from None
    try:
        fields = json.loads(answer.get("SecretString") or "")
    except ValueError:
        fields = None
    if not isinstance(fields, dict):
        raise MissingCredential(
            f"{where}: AWS Secrets Manager secret {secret_id!r} is not a JSON object",
            hint='store it as {"username": "...", "password": "..."}',
        )
    return {str(k): Secret(str(v)) for k, v in fields.items()}
