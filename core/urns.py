"""URNs: ``urn:dw:<kind>:<segment>/<segment>/...``, each segment percent-encoded.

The kinds registry (core/kinds.py) says how many segments each kind has and whether the first
one is a data source: ``urn:dw:table:<source>/<database>/<schema>/<table>`` is deterministic
from the source's identity and stable across rescans; ``urn:dw:product:<domain>/<name>`` names
no source. Parseable back into parts; anything else is an ``InvalidUrn`` that says why.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote, unquote

from core.kinds import KINDS, Kind

PREFIX = "urn:dw:"


class InvalidUrn(ValueError):
    pass


@lru_cache(maxsize=2**16)
def _encode(segment: str) -> str:
    """Percent-encode one segment; cached, as column and table names repeat across an estate."""
    return quote(segment, safe="")


def _joined(segments: Iterable[str]) -> str:
    return "/".join(_encode(s) for s in segments)


def _shape(kind: Kind) -> str:
    count = {None: "one or more segments", 1: "1 segment"}.get(
        kind.segments, f"{kind.segments} segments"
    )
    first = ", the first a data source" if kind.sourced else ""
    return f"{kind.name} URNs have {count}{first}"


@dataclass(frozen=True)
class Urn:
    """A parsed URN. ``source`` is the data source of a source-scoped kind (None for kinds that
    name none, such as domains and policies); ``path`` is what follows it (every segment, for
    those kinds)."""

    kind: str
    source: str | None
    path: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        kind = KINDS.get(self.kind)
        if kind is None:
            known = ", ".join(k.name for k in KINDS)
            raise InvalidUrn(f"unknown URN kind {self.kind!r} (known: {known})")
        if (self.source is not None) != kind.sourced:
            raise InvalidUrn(f"{_shape(kind)}: source={self.source!r}")
        segments = self.segments
        if kind.segments is not None and len(segments) != kind.segments:
            raise InvalidUrn(f"{_shape(kind)}, got {len(segments)}: {segments!r}")
        if not segments or not all(segments):
            raise InvalidUrn(f"empty segment in a {kind.name} URN: {segments!r}")

    @classmethod
    def of(cls, kind: str, *segments: str) -> Urn:
        """The URN of ``kind`` made of ``segments`` (the source first, if the kind has one)."""
        spec = KINDS.get(kind)
        if spec is not None and spec.sourced and segments:
            return cls(kind, segments[0], segments[1:])
        return cls(kind, None, segments)

    @property
    def segments(self) -> tuple[str, ...]:
        return self.path if self.source is None else (self.source, *self.path)

    @property
    def name(self) -> str:
        return self.segments[-1]

    def __str__(self) -> str:
        return f"{PREFIX}{self.kind}:{_joined(self.segments)}"

    @staticmethod
    def parse(text: str) -> Urn:
        return _parse(text)


@lru_cache(maxsize=2**14)
def _parse(text: str) -> Urn:
    """``Urn.parse``, cached: one event's or request's URN is parsed by several layers, and a
    URN is immutable."""
    if not text.startswith(PREFIX):
        raise InvalidUrn(f"not a DataWave URN (expected {PREFIX}<kind>:...): {text!r}")
    kind, sep, rest = text[len(PREFIX) :].partition(":")
    if not sep or not rest:
        raise InvalidUrn(f"URN without a kind or segments: {text!r}")
    try:
        return Urn.of(kind, *(unquote(s) if "%" in s else s for s in rest.split("/")))
    except InvalidUrn as err:
        raise InvalidUrn(f"{err}: {text!r}") from None


def ancestors(urn: str) -> list[str]:
    """A sourced URN and the URNs of what contains it, innermost first (a column's table,
    schema, database and source); a URN of another kind is its own only."""
    parsed = Urn.parse(urn)
    if parsed.source is None or parsed.kind not in CONTAINMENT:
        return [urn]
    depth = CONTAINMENT.index(parsed.kind)
    return [urn] + [
        str(Urn(kind, parsed.source, parsed.path[:level]))
        for level, kind in reversed(list(enumerate(CONTAINMENT[:depth])))
    ]


# Sourced kinds by depth: each contains the next (its URN is the next's minus the last segment).
CONTAINMENT = ("source", "database", "schema", "table", "column")


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
    base = f"{PREFIX}column:{_joined(Urn.parse(table).segments)}"
    return [f"{base}/{_encode(c)}" for c in columns]


def version_urn(table: str, version: int) -> str:
    parsed = Urn.parse(table)
    return str(Urn("version", parsed.source, (*parsed.path, str(version))))


def domain_urn(name: str) -> str:
    return str(Urn.of("domain", name))


def team_urn(name: str) -> str:
    return str(Urn.of("team", name))


def product_urn(domain: str, name: str) -> str:
    return str(Urn.of("product", domain, name))


def contract_urn(domain: str, product: str, version: str) -> str:
    return str(Urn.of("contract", domain, product, version))


def access_urn(domain: str, product: str, id: str) -> str:
    return str(Urn.of("access", domain, product, id))


def policy_urn(name: str) -> str:
    return str(Urn.of("policy", name))


def framework_urn(framework: str) -> str:
    return str(Urn.of("framework", framework))


def control_urn(framework: str, control: str) -> str:
    return str(Urn.of("control", framework, control))


def finding_urn(finding: str) -> str:
    return str(Urn.of("finding", finding))


def waiver_urn(waiver: str) -> str:
    """A waiver's URN, of the UUID it was created with (its ``id``)."""
    return str(Urn.of("waiver", waiver))
