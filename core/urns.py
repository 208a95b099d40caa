"""URNs: ``urn:dw:<kind>:<source>/<path>``, each segment percent-encoded, joined by ``/``.

Deterministic from the source's identity, parseable back into parts, stable across rescans.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote, unquote

PREFIX = "urn:dw:"
KINDS = frozenset({"source", "database", "schema", "table", "column", "version", "job", "scan"})


class InvalidUrn(ValueError):
    pass


@lru_cache(maxsize=2**16)
def _encode(segment: str) -> str:
    """Percent-encode one segment; cached, as column and table names repeat across an estate."""
    return quote(segment, safe="")


@dataclass(frozen=True)
class Urn:
    kind: str
    source: str
    path: tuple[str, ...] = ()

    def __str__(self) -> str:
        segments = [self.source, *self.path]
        return f"{PREFIX}{self.kind}:" + "/".join(_encode(s) for s in segments)

    def child(self, kind: str, name: str) -> Urn:
        return Urn(kind, self.source, (*self.path, name))

    @property
    def name(self) -> str:
        return self.path[-1] if self.path else self.source

    @classmethod
    def parse(cls, text: str) -> Urn:
        if not text.startswith(PREFIX):
            raise InvalidUrn(f"not a DataWave URN (expected {PREFIX}<kind>:...): {text!r}")
        kind, sep, rest = text[len(PREFIX) :].partition(":")
        if not sep or kind not in KINDS or not rest:
            raise InvalidUrn(f"bad URN kind or empty path: {text!r}")
        source, *path = (unquote(s) for s in rest.split("/"))
        if not source or any(not p for p in path):
            raise InvalidUrn(f"empty segment in URN: {text!r}")
        return cls(kind, source, tuple(path))


def source_urn(source: str) -> str:
    return str(Urn("source", source))


def database_urn(source: str, database: str) -> str:
    return str(Urn("database", source, (database,)))


def schema_urn(source: str, database: str, schema: str) -> str:
    return str(Urn("schema", source, (database, schema)))


def table_urn(source: str, database: str, schema: str, table: str) -> str:
    return str(Urn("table", source, (database, schema, table)))


def column_urn(table: str, column: str) -> str:
    """The column URN under a table URN (string in, string out)."""
    parsed = Urn.parse(table)
    return str(Urn("column", parsed.source, (*parsed.path, column)))


def column_urns(table: str, columns: Iterable[str]) -> list[str]:
    """``column_urn`` of many columns of one table, parsing and encoding the table once."""
    parsed = Urn.parse(table)
    base = str(Urn("column", parsed.source, parsed.path))
    return [f"{base}/{_encode(c)}" for c in columns]


def version_urn(table: str, version: int) -> str:
    parsed = Urn.parse(table)
    return str(Urn("version", parsed.source, (*parsed.path, str(version))))
