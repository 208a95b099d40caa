"""A data source's configuration: the one model the CLI, the API, the graph and the scan share.

What is registered is what is stored (``properties``, camelCase on the ``:DataSource`` node) and
what a scan reads back (``from_properties``), field for field: a new field is added here once.
Only a secret's reference is kept; ``ingest`` resolves it when it connects.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
KIND = re.compile(r"[a-z][a-z0-9_]{0,62}")
SECRET_REF = re.compile(r"env:[A-Za-z_][A-Za-z0-9_]*|file:/.+")
# What a valid value looks like, in words: shown by the CLI and the API instead of a regex.
NAME_RULE = "a name is lowercase letters, digits and inner hyphens, at most 63 characters"
KIND_RULE = (
    "a kind is lowercase letters, digits and underscores, starting with a letter, at most 63 "
    "characters"
)
SECRET_RULE = "a secret reference is env:NAME or file:/path under the secrets directory"
# PATH_MAX: no longer reference names a file Linux opens, and the reference is stored on the
# source, listed and named in every message about its secret (a megabyte one was accepted).
MAX_SECRET_REF = 4096
SECRET_LENGTH_RULE = f"a secret reference is at most {MAX_SECRET_REF} characters"
# Free text is stored on the source, listed and named in its messages, so each has a cap. No SQL
# server takes a longer account name (PostgreSQL 63 bytes, MySQL 32 characters); MongoDB sets
# none, so there is room for its long ones (a certificate's subject).
MAX_USER = 1024
USER_LENGTH_RULE = f"a user is at most {MAX_USER} characters"
# No supported server names a longer database (MySQL 64 characters, PostgreSQL 63 bytes,
# MongoDB 63); past a thousand, scanning every database (an empty list) is what is meant.
MAX_DATABASE_NAME = 64
MAX_DATABASES = 1000
DATABASE_NAME_RULE = f"a database name is at most {MAX_DATABASE_NAME} characters"
# An empty name names no database on any server (it was stored and looked for by every scan);
# every database is meant by listing none.
DATABASE_EMPTY_RULE = "a database name is never empty (list none to scan every database)"
DATABASES_RULE = f"at most {MAX_DATABASES} databases (list none to scan every database)"
# The graph stores an integer in 64 bits: a larger one was a traceback from Neo4j's driver.
MAX_GRAPH_INT = 2**63 - 1


class TlsMode(StrEnum):
    """How a connection to the source is encrypted."""

    DISABLE = "disable"  # plain TCP: a password may only go to DATAWAVE_SOURCES__CLEARTEXT_HOSTS
    REQUIRE = "require"  # encrypted, the server's certificate not checked
    VERIFY = "verify"  # encrypted, certificate and host name checked against the system CAs


def _matching(pattern: re.Pattern[str], rule: str, value: str) -> str:
    if not pattern.fullmatch(value):
        raise PydanticCustomError("rule", rule)
    return value


def _at_most(limit: int, rule: str, value: str | None) -> str | None:
    if value is not None and len(value) > limit:
        raise PydanticCustomError("too_long", rule)
    return value


class DataSourceConfig(BaseModel):
    """One source to discover; safe to log and store (it holds a secret's reference only)."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True
    )

    name: str = Field(
        description="Lowercase slug (letters, digits, inner hyphens; at most 63): the source "
        "part of every URN.",
    )
    kind: str = Field(
        description="Connector kind: mysql, mariadb, postgresql, mongodb (at most 63 characters)."
    )
    host: str = Field(
        "127.0.0.1", min_length=1, max_length=253, description="Host name or address."
    )
    port: int = Field(
        ge=1, le=65535, description="TCP port of the server (given none: the kind's standard one)."
    )
    user: str | None = Field(
        None, description=f"Account the connector logs in as; at most {MAX_USER} characters."
    )
    secret_ref: str | None = Field(
        None,
        description="Where the password is: env:NAME or file:/path under the operator's "
        f"secrets directory (never the password); at most {MAX_SECRET_REF} characters.",
    )
    tls: TlsMode = Field(TlsMode.DISABLE, description="How the connection is encrypted.")
    databases: list[str] = Field(
        default_factory=list,
        description=f"Databases to scan (at most {MAX_DATABASES}, each name at most "
        f"{MAX_DATABASE_NAME} characters); empty means every non-system one.",
    )
    pool_size: int = Field(4, ge=1, le=64, description="Connections (and parallel tables).")
    timeout_s: float = Field(10.0, gt=0, le=600, description="Seconds any call may take.")
    sample_size: int = Field(
        100, ge=0, le=10_000, description="Sample values kept per column for classification."
    )
    profile_rows: int = Field(
        1000, ge=1, le=1_000_000, description="Rows read to profile a table's columns."
    )
    exact_count_limit: int = Field(
        100_000, ge=0, le=MAX_GRAPH_INT,
        description="Tables up to this many rows get an exact COUNT(*).",
    )  # fmt: skip
    sample_documents: int = Field(
        200, ge=1, le=100_000, description="Documents read per MongoDB collection."
    )

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return _matching(SLUG, NAME_RULE, v)

    @field_validator("kind")
    @classmethod
    def _kind(cls, v: str) -> str:
        return _matching(KIND, KIND_RULE, v)

    @field_validator("secret_ref")
    @classmethod
    def _secret_ref(cls, v: str | None) -> str | None:
        v = _at_most(MAX_SECRET_REF, SECRET_LENGTH_RULE, v)  # before the pattern reads it all
        return None if v is None else _matching(SECRET_REF, SECRET_RULE, v)

    @field_validator("user")
    @classmethod
    def _user(cls, v: str | None) -> str | None:
        return _at_most(MAX_USER, USER_LENGTH_RULE, v)

    @field_validator("databases")
    @classmethod
    def _databases(cls, v: list[str]) -> list[str]:
        """One problem for the field however many names are too long or empty (never one each)."""
        if len(v) > MAX_DATABASES:
            raise PydanticCustomError("too_long", DATABASES_RULE)
        if any(len(name) > MAX_DATABASE_NAME for name in v):
            raise PydanticCustomError("too_long", DATABASE_NAME_RULE)
        if not all(v):
            raise PydanticCustomError("too_short", DATABASE_EMPTY_RULE)
        return v

    @field_validator("databases")
    @classmethod
    def _distinct(cls, v: list[str]) -> list[str]:
        return list(dict.fromkeys(v))

    @property
    def target(self) -> str:
        """Where the source is, for messages (never the secret)."""
        who = f"{self.user}@" if self.user else ""
        return f"{self.kind}://{who}{self.host}:{self.port}"

    def properties(self) -> dict[str, Any]:
        """The node properties that store this config (camelCase, lists for sequences)."""
        return self.model_dump(by_alias=True, mode="json")

    @classmethod
    def from_properties(cls, props: Mapping[str, Any]) -> Self:
        """The config a ``:DataSource`` node stores; its other properties (status...) ignored."""
        known = {f.alias or name for name, f in cls.model_fields.items()}
        return cls.model_validate({k: v for k, v in props.items() if k in known and v is not None})


def problems(err: ValidationError) -> list[tuple[str, str]]:
    """(field as the API spells it, what is wrong in words) for each error of a config."""
    aliases = {name: f.alias or name for name, f in DataSourceConfig.model_fields.items()}
    out = []
    for e in err.errors():
        field = str(e["loc"][0]) if e["loc"] else ""
        out.append((aliases.get(field, field), e["msg"]))
    return out
