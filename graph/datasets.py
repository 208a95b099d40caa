"""Where an OpenLineage dataset lives, by the OpenLineage naming spec: the server (kind, host,
port) from its namespace and the database, schema and table from its name.

``postgres://db.example:5432`` + ``sales.public.orders`` is table ``orders`` of schema
``public`` in database ``sales`` on a PostgreSQL server; MySQL, MariaDB and MongoDB names are
``database.table`` (their one schema has the database's name, as connectors record it). Any
other namespace (``s3://``, ``kafka://``, ``bigquery``, ...) names no server DataWave scans: the
dataset is a node of its own (``urn:dw:dataset:<namespace>/<name>``).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from core.urns import Urn, table_urn


@dataclass(frozen=True)
class Scheme:
    kinds: tuple[str, ...]  # the connector kinds (core/sources.py) of a server of this scheme
    port: int  # the standard port, when the namespace gives none
    parts: int  # dot-separated parts of a name: database.schema.table or database.table


SCHEMES = {
    "postgres": Scheme(("postgresql",), 5432, 3),
    "postgresql": Scheme(("postgresql",), 5432, 3),
    "mysql": Scheme(("mysql", "mariadb"), 3306, 2),
    "mariadb": Scheme(("mariadb", "mysql"), 3306, 2),
    "mongodb": Scheme(("mongodb",), 27017, 2),
}
# Names one machine answers to: a namespace saying ``localhost`` and a source registered as
# ``127.0.0.1`` are the same server.
LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})


@dataclass(frozen=True)
class Location:
    """A table on a server, as a registered :DataSource of one of ``kinds`` would name it."""

    kinds: tuple[str, ...]
    hosts: tuple[str, ...]  # lowercase; every loopback name for a loopback host
    port: int
    database: str
    schema: str
    table: str

    def table_urn(self, source: str) -> str:
        return table_urn(source, self.database, self.schema, self.table)


def hosts(host: str) -> tuple[str, ...]:
    """The names that match ``host`` (lowercase; loopback names match each other)."""
    host = host.lower().strip("[]")
    return tuple(sorted(LOOPBACK)) if host in LOOPBACK else (host,)


def locate(namespace: str, name: str) -> Location | None:
    """The table a dataset names, or None for a namespace or name outside the naming spec's
    database forms."""
    parts = urlsplit(namespace)
    scheme = SCHEMES.get(parts.scheme.lower())
    if scheme is None or not parts.hostname:
        return None
    try:
        port = parts.port or scheme.port
    except ValueError:  # a port that is not a number
        return None
    segments = name.split(".")
    if len(segments) != scheme.parts or not all(segments):
        return None
    database, *rest = segments
    schema, table = rest if scheme.parts == 3 else (database, rest[0])
    return Location(scheme.kinds, hosts(parts.hostname), port, database, schema, table)


def dataset_urn(namespace: str, name: str) -> str:
    """The URN of a dataset no registered source holds."""
    return str(Urn("dataset", namespace, (name,)))
