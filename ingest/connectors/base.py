"""The connector framework: source config, secrets, a typed registry and the discovery loop.

A connector only answers narrow questions (server version, databases, a database's listing,
one table's description); the base class turns the answers into the ordered event stream the
worker expects, so every engine behaves the same on failures, ordering and soft-deletes.
Adding an engine is one module in this package that subclasses ``Connector`` and decorates it
with ``@registry.register("kind")``: ``connector_for`` imports the package's modules itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import inspect
import logging
import pkgutil
import ssl
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Generic, Protocol, Self, TypeVar

from core.events import (
    CONTAINER_DISCOVERED,
    CONTAINER_SCANNED,
    MAX_EVENT_BYTES,
    SOURCE_CHECKED,
    TABLE_DISCOVERED,
    ContainerDiscovered,
    Event,
    Payload,
    SourceChecked,
    TableDiscovered,
    listing_parts,
    make_event,
)
from core.sample_cipher import sealed_size
from core.sources import DataSourceConfig
from core.urns import database_urn, schema_urn, source_urn, table_urn
from ingest.source_access import Pinned, SecretError, SourceAccess, SourceAccessError, SourceRefused

# Envelope fields and JSON escaping on top of the payload stay well below this margin.
EVENT_BUDGET = MAX_EVENT_BYTES - 16_384


log = logging.getLogger("datawave.sources")


class ConnectorError(Exception):
    """A source could not be reached or read; the message says which and why."""


class TlsRefused(ConnectorError):
    """The source's server offers no TLS where its ``tls`` requires it."""


class Failure(StrEnum):
    """Why a source failed, in words for anyone who may read the source (its ``lastError``):
    a driver's own message may name DataWave's address as the server saw it, a secret
    reference, the operator's networks or a resolved address, so it goes to the log only."""

    REFUSED = "refused by the operator's source policy"
    SECRET = "its secret could not be read"
    AUTHENTICATION = "authentication failed"
    TLS = "TLS failed"
    TIMEOUT = "timed out"
    UNREACHABLE = "unreachable"
    FAILED = "the source answered with an error"
    # A table the source lists but will not read (no privilege, a view whose definer is gone,
    # a materialized view never refreshed): catalogued unprofiled (``SqlConnector._describe``).
    UNREADABLE = "the source refused to read it"


def _failure(err: BaseException) -> Failure | None:
    """The failure any engine's ``err`` shows, if one of the kinds every engine shares."""
    kinds: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], Failure], ...] = (
        (SourceRefused, Failure.REFUSED),
        (SecretError, Failure.SECRET),
        ((TlsRefused, ssl.SSLError, ssl.CertificateError), Failure.TLS),
        (TimeoutError, Failure.TIMEOUT),
        (OSError, Failure.UNREACHABLE),  # refused, no route, no such name
    )
    return next((kind for types, kind in kinds if isinstance(err, types)), None)


@dataclass
class DiscoveryReport:
    """Counters of one connector's work; failures are per object, the scan goes on."""

    databases: int = 0
    schemas: int = 0
    tables: int = 0
    views: int = 0
    collections: int = 0
    columns: int = 0
    events: int = 0
    failures: list[str] = field(default_factory=list)
    # Configured databases the server's (successful) listing lacks: dropped or renamed.
    missing: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ServerInfo:
    version: str
    databases: list[str]
    # Databases that exist but refuse connections for now: not scanned, and not gone either.
    closed: list[str] = field(default_factory=list)


class Listed(Protocol):
    """What a connector's listing holds per table: at least its name."""

    @property
    def name(self) -> str: ...


SpecT = TypeVar("SpecT", bound=Listed)
T = TypeVar("T")
R = TypeVar("R")


class Connector(ABC, Generic[SpecT]):
    """Discovers one source; use as ``async with connector_for(cfg) as c:`` to close its pool."""

    # Driver errors that mean "the source failed", as opposed to bugs, which propagate.
    source_errors: ClassVar[tuple[type[Exception], ...]] = ()
    # The engine's usual TCP port: a source registered without one gets it.
    standard_port: ClassVar[int]

    def __init__(self, config: DataSourceConfig, access: SourceAccess) -> None:
        self.config = config
        self.access = access
        self.urn = source_urn(config.name)
        self.report = DiscoveryReport()
        self._pinned: Pinned | None = None

    async def admit(self) -> None:
        """Check the source against the operator's policy before any connection, and pin the
        addresses that check saw: connections go there, not to a fresh resolution."""
        self._pinned = await self.access.admit(self.config)

    @property
    def pinned(self) -> Pinned:
        """Where connections go (``admit`` first: without it no connection is made)."""
        if self._pinned is None:
            raise ConnectorError(f"{self.config.target}: not checked against the source policy")
        return self._pinned

    def password(self) -> str | None:
        """The source's password, resolved just before it is used (never stored), from what
        the operator allowed only."""
        ref = self.config.secret_ref
        return self.access.secret(ref) if ref else None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Release pools and clients (idempotent)."""

    # --- what each engine answers -------------------------------------------------------

    @abstractmethod
    async def _server(self) -> ServerInfo:
        """Version and every non-system database; raises ConnectorError if unreachable."""

    @abstractmethod
    async def _counts(self, databases: list[str]) -> dict[str, int]:
        """Counts of schemas, tables, views or collections in these databases."""

    @abstractmethod
    async def _listing(self, database: str) -> dict[str, list[SpecT]]:
        """Every schema of the database with its tables, in a stable order."""

    @abstractmethod
    async def _describe(self, database: str, schema: str, spec: SpecT) -> TableDiscovered:
        """One table with columns, keys, counts and profiles (the expensive part)."""

    @contextlib.asynccontextmanager
    async def _opened(self, database: str) -> AsyncIterator[None]:
        """Resources held while one database is scanned (PostgreSQL: its pool)."""
        yield

    # --- the shared behaviour -----------------------------------------------------------

    @property
    def recoverable(self) -> tuple[type[Exception], ...]:
        return (ConnectorError, SourceAccessError, OSError, TimeoutError, *self.source_errors)

    def _failure(self, err: BaseException) -> Failure | None:
        """The engine's own reading of ``err`` (authentication, TLS), if it has one."""
        return None

    def failure(self, err: BaseException) -> Failure:
        """What kind of failure ``err`` is, read through the errors it was raised from."""
        seen: BaseException | None = err
        for _ in range(8):  # a chain of causes is short; a cycle must not hang
            if seen is None:
                break
            kind = self._failure(seen) or _failure(seen)
            if kind is not None:
                return kind
            seen = seen.__cause__
        return Failure.FAILED

    def explain(self, err: BaseException) -> str:
        """A one-line reason naming the source, with the password scrubbed out."""
        if isinstance(err, TimeoutError):
            detail = f"timed out after {self.config.timeout_s:g}s"
        else:
            detail = " ".join(str(err).split()) or type(err).__name__
        with contextlib.suppress(SourceAccessError):
            secret = self.password()
            if secret:
                detail = detail.replace(secret, "***")
        if isinstance(err, ConnectorError | SourceAccessError):
            return detail
        return f"{self.config.target}: {detail}"

    def warn(self, what: str, err: BaseException, kind: Failure | None = None) -> None:
        """Keep a failure of one object (``what``: a database, a table) among the scan's
        warnings, which whoever may read the source sees: its kind only, as ``lastError``;
        the driver's words (host names, accounts, addresses) go to the log."""
        kind = kind or self.failure(err)
        log.warning("source %s: %s: %s: %s", self.config.name, what, kind.name, self.explain(err))
        self.report.failures.append(f"{what}: {kind}")

    async def validate(self, scan_id: str | None = None) -> SourceChecked:
        """Reachability, version and counts; a down source is a result, never an exception."""
        checked, _, _, _ = await self._check(scan_id)
        return checked

    async def sample_table(self, database: str, schema: str, table: str) -> TableDiscovered | None:
        """One table read again as a scan reads it (its columns' samples bounded by
        ``profile_rows`` and ``sample_size``), for on-demand classification; None when the
        source no longer lists it. Raises what ``recoverable`` names when the source fails."""
        await self.admit()
        async with self._opened(database):
            specs = (await self._listing(database)).get(schema, [])
            spec = next((s for s in specs if s.name == table), None)
            return None if spec is None else await self._describe(database, schema, spec)

    async def _check(
        self, scan_id: str | None
    ) -> tuple[SourceChecked, Failure | None, list[str], list[str]]:
        """The check (its error in full), why it failed, the selected databases to scan, and
        the selected databases that exist (those to scan and those refusing connections)."""
        cfg = self.config
        common: dict[str, Any] = {
            "name": cfg.name,
            "kind": cfg.kind,
            "host": cfg.host,
            "port": cfg.port,
            "scan_id": scan_id,
        }
        try:
            await self.admit()  # before any connection, whatever the graph holds
            server = await self._server()
            databases = self._select(server)
            counts = {"databases": len(databases), **await self._counts(databases)}
        except self.recoverable as err:
            failed = SourceChecked(status="unreachable", error=self.explain(err), **common)
            return failed, self.failure(err), [], []
        checked = SourceChecked(
            status="reachable", server_version=server.version, counts=counts, **common
        )
        wanted = self.config.databases
        closed = [d for d in server.closed if not wanted or d in wanted]
        return checked, None, databases, [*databases, *closed]

    def _select(self, server: ServerInfo) -> list[str]:
        if not self.config.databases:
            return server.databases
        closed = [d for d in self.config.databases if d in server.closed]
        if closed:
            self.report.failures.append(f"databases refusing connections: {', '.join(closed)}")
        found = {*server.databases, *server.closed}
        missing = [d for d in self.config.databases if d not in found]
        if missing:
            self.report.missing = missing
            self.report.failures.append(f"databases not found: {', '.join(missing)}")
        return [d for d in self.config.databases if d in server.databases]

    async def discover(
        self, scan_id: str | None = None, skip: Collection[str] = frozenset()
    ) -> AsyncIterator[Event]:
        """SOURCE_CHECKED, then per database and schema: containers, tables, CONTAINER_SCANNED.

        CONTAINER_SCANNED says what a complete listing saw: every table of a schema, every
        schema of a database, and last every selected database of the server, so the worker
        may soft-delete what is gone at each level (a dropped table, schema or database). A
        database whose listing fails emits nothing at all, and an unreachable server nothing
        but its check: only a listing that succeeded can show something gone. Tables whose
        URN is in ``skip`` (a resumed scan published them already) are not described again.
        """
        checked, failure, databases, present = await self._check(scan_id)
        if failure is not None:  # the event is the source's lastError: its kind, not its text
            log.warning("source %s: %s: %s", self.config.name, failure.name, checked.error)
            checked = checked.model_copy(update={"error": str(failure)})
        yield self._event(SOURCE_CHECKED, self.urn, checked)
        if checked.status != "reachable":
            return
        for database in databases:
            try:
                async with self._opened(database):
                    async for event in self._discover_database(database, scan_id, skip):
                        yield event
            except self.recoverable as err:
                self.warn(f"database {database}", err)
        children = [database_urn(self.config.name, d) for d in present]
        for event in self._listing_events(self.urn, children, scan_id):
            yield event

    async def _discover_database(
        self, database: str, scan_id: str | None, skip: Collection[str]
    ) -> AsyncIterator[Event]:
        name = self.config.name
        listing = await self._listing(database)
        db_urn = database_urn(name, database)
        yield self._event(
            CONTAINER_DISCOVERED,
            db_urn,
            ContainerDiscovered(
                kind="database", name=database, parent_urn=self.urn, scan_id=scan_id
            ),
        )
        self.report.databases += 1
        for schema, specs in listing.items():
            s_urn = schema_urn(name, database, schema)
            yield self._event(
                CONTAINER_DISCOVERED,
                s_urn,
                ContainerDiscovered(kind="schema", name=schema, parent_urn=db_urn, scan_id=scan_id),
            )
            self.report.schemas += 1

            async def describe(spec: SpecT, schema: str = schema) -> TableDiscovered:
                return await self._describe(database, schema, spec)

            todo = [s for s in specs if table_urn(name, database, schema, s.name) not in skip]
            async for spec, result in in_order(todo, describe, self.config.pool_size):
                if isinstance(result, self.recoverable):
                    self.warn(f"table {database}.{schema}.{spec.name}", result)
                    continue
                if isinstance(result, BaseException):
                    raise result
                table = fit_event(result.model_copy(update={"scan_id": scan_id}))
                self._count_table(table)
                yield self._event(
                    TABLE_DISCOVERED, table_urn(name, database, schema, table.name), table
                )
            children = [table_urn(name, database, schema, s.name) for s in specs]
            for event in self._listing_events(s_urn, children, scan_id):
                yield event
        schemas = [schema_urn(name, database, schema) for schema in listing]
        for event in self._listing_events(db_urn, schemas, scan_id):
            yield event

    def _count_table(self, table: TableDiscovered) -> None:
        kind = {"table": "tables", "view": "views", "collection": "collections"}[table.kind]
        setattr(self.report, kind, getattr(self.report, kind) + 1)
        self.report.columns += len(table.columns)

    def _listing_events(
        self, container: str, children: list[str], scan_id: str | None
    ) -> list[Event]:
        """CONTAINER_SCANNED for ``container``: one event, or parts of a listing too large."""
        parts = listing_parts(children, scan_id)
        return [self._event(CONTAINER_SCANNED, container, part) for part in parts]

    def _event(self, event_type: str, subject: str, data: Payload) -> Event:
        self.report.events += 1
        return make_event(event_type, self.urn, subject, data)


async def bounded_count(
    limit: int, count_upto: Callable[[int], Awaitable[int]], estimate: int | None
) -> tuple[int | None, bool]:
    """Exact count up to ``limit`` rows (a bounded read), above it the catalog's estimate.

    The estimate is never below ``limit + 1``: we just saw that many rows.
    """
    if limit:
        count = await count_upto(limit + 1)
        if count <= limit:
            return count, True
    return max(estimate or 0, limit + 1 if limit else 0) or None, False


def fit_event(table: TableDiscovered) -> TableDiscovered:
    """Halve the column samples until the event, its samples sealed, fits Kafka's record limit.

    Samples are the only unbounded-by-schema part; everything else is the table's structure.
    """
    while sealed_size(table) > EVENT_BUDGET and any(c.samples for c in table.columns):
        columns = [
            c.model_copy(update={"samples": c.samples[: len(c.samples) // 2]})
            for c in table.columns
        ]
        table = table.model_copy(update={"columns": columns})
    return table


async def in_order(
    items: Sequence[T], fn: Callable[[T], Awaitable[R]], limit: int
) -> AsyncIterator[tuple[T, R | BaseException]]:
    """Run ``fn`` over ``items`` with at most ``limit`` in flight, yielding results in order.

    Errors are yielded, not raised, so one bad table does not end a schema.
    """
    pending: deque[tuple[T, asyncio.Task[R]]] = deque()

    async def settle() -> tuple[T, R | BaseException]:
        item, task = pending.popleft()
        try:
            return item, await task
        except Exception as err:
            return item, err

    try:
        for item in items:
            pending.append((item, asyncio.ensure_future(fn(item))))
            if len(pending) >= limit:
                yield await settle()
        while pending:
            yield await settle()
    finally:
        for _, task in pending:
            task.cancel()
        await asyncio.gather(*(task for _, task in pending), return_exceptions=True)


ConnectorT = TypeVar("ConnectorT", bound=type[Connector[Any]])


class ConnectorRegistry:
    """Connector classes by kind; refuses duplicates and classes that cannot be built."""

    def __init__(self, package: str | None = None) -> None:
        self._classes: dict[str, type[Connector[Any]]] = {}
        self._package = package
        self._loaded = package is None

    def register(self, *kinds: str) -> Callable[[ConnectorT], ConnectorT]:
        def add(cls: ConnectorT) -> ConnectorT:
            if not (inspect.isclass(cls) and issubclass(cls, Connector)):
                raise TypeError(f"{cls!r} is not a Connector subclass")
            if inspect.isabstract(cls):
                missing = ", ".join(sorted(cls.__abstractmethods__))
                raise TypeError(f"{cls.__name__} is abstract (missing {missing})")
            if not isinstance(getattr(cls, "standard_port", None), int):
                raise TypeError(f"{cls.__name__} has no standard_port")
            for kind in kinds:
                if kind in self._classes:
                    other = self._classes[kind].__name__
                    raise ValueError(f"connector kind {kind!r} is already registered by {other}")
            for kind in kinds:
                self._classes[kind] = cls
            return cls

        return add

    def load_package(self) -> None:
        """Import every module of the package so their ``register`` decorators run."""
        if self._loaded or self._package is None:
            return
        package = importlib.import_module(self._package)
        for module in pkgutil.iter_modules(package.__path__, f"{self._package}."):
            importlib.import_module(module.name)
        self._loaded = True

    def kinds(self) -> list[str]:
        self.load_package()
        return sorted(self._classes)

    def standard_port(self, kind: str) -> int:
        return self.get(kind).standard_port

    def get(self, kind: str) -> type[Connector[Any]]:
        self.load_package()
        try:
            return self._classes[kind]
        except KeyError:
            known = ", ".join(sorted(self._classes)) or "none"
            raise KeyError(f"no connector for kind {kind!r} (known: {known})") from None


registry = ConnectorRegistry(__package__)


def connector_for(config: DataSourceConfig, access: SourceAccess) -> Connector[Any]:
    """A connector instance for the config's kind (not yet connected), held to ``access``."""
    return registry.get(config.kind)(config, access)
