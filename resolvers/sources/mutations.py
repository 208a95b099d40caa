"""Data-source mutations: register, test, scan and unregister a source.

The input is checked by the connectors' own config model and registry (ingest/registration.py),
so the API accepts exactly what a connector can use. Secrets never pass through: only a
reference, which the operator's policy must allow, like the source's host (ingest/
source_access.py). Where a source is and which secret it reads (host, port, secretRef, tls) is
the ``source:admin`` permission's to set; ``source:write`` tests a registered source and edits
the rest. A source out of the caller's scope is unknown to it, like a missing one; registering
a name out of scope is FORBIDDEN (that depends on the token alone, so it reveals nothing).

A failed connection answers one generic message with a correlation id (the request's id in the
audit trail): what failed, and how, goes to the log and the audit trail only, so the API is no
port scanner or existence oracle for whoever may test a source.
"""

from __future__ import annotations

import logging
from typing import Any

import strawberry
from pydantic import ValidationError

from core.events import SourceChecked
from core.sources import DataSourceConfig
from core.urns import source_urn
from graph import sources
from ingest import registration, scan
from ingest.registration import InvalidSource
from ingest.scan import UNREGISTERING, ScanError, SourceBusy
from ingest.source_access import SourceAccess
from live.changes import ChangeType
from live.scans import TooManyScans
from resolvers.announce import announce, invalidate_cached
from resolvers.audited import guarded
from resolvers.catalog.types import DataSource, SourceStatus
from resolvers.common import InvalidInputError, NotFoundError, UserError
from resolvers.context import Info
from resolvers.errors import coded
from resolvers.governance.governed import governed
from resolvers.permissions import FORBIDDEN
from resolvers.sources.breakers import refused
from resolvers.sources.scans import Scan
from security.rbac import Permission, permission

log = logging.getLogger("datawave.sources")

REGISTERED = [f.alias for f in DataSourceConfig.model_fields.values() if f.alias != "name"]
# What says where a source is and which secret goes there: only source:admin sets it.
WHERE = ("host", "port", "secret_ref", "tls")
SOURCE_WRITE = permission("source:write")
SOURCE_ADMIN = permission("source:admin")
SCAN_WRITE = permission("scan:write")


@strawberry.experimental.pydantic.input(
    model=DataSourceConfig,
    all_fields=True,
    description="How to reach a source; the password stays in a secret store.",
)
class DataSourceInput:
    """Derived from ``core.sources.DataSourceConfig``: every field the scan reads is here."""

    port: int | None = strawberry.field(
        default=None, description="TCP port of the server; default: the kind's standard port."
    )


@strawberry.type(description="What a connection test saw.")
class SourceCheck:
    status: SourceStatus = strawberry.field(description="REACHABLE or UNREACHABLE.")
    server_version: str | None
    error: str | None = strawberry.field(
        description="Why it failed, in general terms: the detail is in the server's log and "
        "audit trail under `correlationId`."
    )
    databases: int | None = strawberry.field(description="Databases it would scan.")
    correlation_id: str | None = strawberry.field(
        default=None, description="Where an administrator finds the failure's detail."
    )


@strawberry.type(description="The API replica is busy; try again later.")
class BusyError(UserError):
    pass


@strawberry.type(
    description="The source is busy: a scan of it runs (`scanId`; one at a time), or it is being "
    "unregistered (`scanId` null). Try again once that ends."
)
class SourceBusyError(UserError):
    scan_id: strawberry.ID | None

    @classmethod
    def of(cls, busy: SourceBusy) -> SourceBusyError:
        running = None if busy.holder == UNREGISTERING else strawberry.ID(busy.holder)
        return cls(message=str(busy), scan_id=running)


@strawberry.type(
    description="The operator's policy (DATAWAVE_SOURCES__*) refuses this value; `field` names it."
)
class RefusedError(UserError):
    field: str


@strawberry.type(
    description="The source could not be reached or refused the connection; an administrator "
    "finds why in the server's log and audit trail under `correlationId`."
)
class ConnectionFailedError(UserError):
    correlation_id: str


@strawberry.type
class RegisterDataSourcePayload:
    data_source: DataSource | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class TestDataSourcePayload:
    check: SourceCheck | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class StartScanPayload:
    scan_id: strawberry.ID | None = strawberry.field(
        default=None, deprecation_reason="Use scan { id }, which comes with its first state."
    )
    scan: Scan | None = strawberry.field(
        default=None,
        description="The scan with its first state; follow it with scanProgress or scan(id).",
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class UnregisterDataSourcePayload:
    removed_assets: int | None = strawberry.field(
        default=None, description="Databases, schemas and tables marked removed."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


def _invalid(err: InvalidSource) -> list[UserError]:
    return [InvalidInputError(field=f, message=m) for f, m in err.problems]


async def _unknown(info: Info, name: str, need: Permission) -> list[UserError]:
    """A NotFoundError unless ``name`` is a registered source the caller may ``need``."""
    if await info.context.loaders.find(source_urn(name), need) is not None:
        return []
    return [NotFoundError(urn=source_urn(name), message=f"no data source {name!r}")]


def _by_name(**kwargs: object) -> str:
    """The audited resource of a source mutation: the source's URN."""
    name = kwargs.get("source") or getattr(kwargs.get("input"), "name", "")
    return source_urn(str(name))


def _moves(known: dict[str, Any] | None, config: DataSourceConfig) -> bool:
    """Whether registering ``config`` sets where the source is or which secret it reads."""
    if known is None:
        return True
    try:
        before = DataSourceConfig.from_properties(known)
    except ValidationError:
        return True
    return any(getattr(before, f) != getattr(config, f) for f in WHERE)


def _access(info: Info) -> SourceAccess:
    return SourceAccess.from_settings(info.context.state.settings)


async def _check(info: Info, name: str) -> tuple[SourceChecked | None, str | None]:
    """Validate a registered source: what it saw, and on failure a correlation id (the
    request's id) under which the detail is logged and audited."""
    state = info.context.state
    try:
        checked = await scan.check_source(state.settings, state.neo4j, name)
    except ScanError as err:  # its registration no longer validates
        checked, detail = None, str(err)
    else:
        if checked.status == "reachable":
            return checked, None
        detail = checked.error or ""
    audit = info.context.guard.audit
    correlation = audit.request_id
    log.warning("source %s: connection failed [%s]: %s", name, correlation, detail)
    audit.note("source:connect", source_urn(name), "failed", detail)
    return checked, correlation


def _failed(correlation: str) -> str:
    return (
        "the source could not be reached or refused the connection; "
        f"an administrator finds why under correlation id {correlation}"
    )


@strawberry.type
class SourceMutation:
    @strawberry.mutation(
        description="Register (or update) a data source to scan. Setting its host, port, "
        "secretRef or tls needs source:admin; the operator's policy must allow them.",
        extensions=[
            *governed("registerDataSource", _by_name),
            *guarded("source:write", _by_name),
        ],
    )
    async def register_data_source(
        self, info: Info, input: DataSourceInput
    ) -> RegisterDataSourcePayload:
        try:
            config = registration.source_config(strawberry.asdict(input))
        except InvalidSource as err:
            return RegisterDataSourcePayload(errors=_invalid(err))
        guard = info.context.guard
        urn = source_urn(config.name)
        if not guard.can(SOURCE_WRITE, source=config.name):
            guard.audit.note(str(SOURCE_WRITE), urn, "denied", "out of scope")
            raise coded(FORBIDDEN, f"forbidden: source {config.name!r} is outside your scope")
        driver, database = info.context.graph
        known = await sources.get_source(driver, database, config.name)
        if _moves(known, config) and not guard.can(SOURCE_ADMIN, source=config.name):
            guard.audit.note(str(SOURCE_ADMIN), urn, "denied", "sets host, port, secret or tls")
            raise coded(
                FORBIDDEN,
                "forbidden: registering a source or changing its host, port, secretRef or tls "
                "needs the source:admin permission",
            )
        if refused := await registration.refusals(config, _access(info)):
            return RegisterDataSourcePayload(
                errors=[RefusedError(field=f, message=m) for f, m in refused]
            )
        record = await sources.register_source(driver, database, config)
        change = ChangeType.CHANGED if known else ChangeType.ADDED
        await announce(info, change, [urn], REGISTERED)
        return RegisterDataSourcePayload(data_source=DataSource.from_props(record))

    @strawberry.mutation(
        description="Connect to a registered source and report what it sees.",
        extensions=guarded("source:write", _by_name),
    )
    async def test_data_source(self, info: Info, source: str) -> TestDataSourcePayload:
        if errors := await _unknown(info, source, SOURCE_WRITE):
            return TestDataSourcePayload(errors=errors)
        checked, correlation = await _check(info, source)
        return TestDataSourcePayload(
            check=SourceCheck(
                status=SourceStatus(checked.status if checked else "unreachable"),
                server_version=checked.server_version if checked else None,
                error=_failed(correlation) if correlation else None,
                databases=checked.counts.get("databases") if checked else None,
                correlation_id=correlation,
            )
        )

    @strawberry.mutation(
        description="Validate a registered source, then scan it from this API replica; "
        "refused with CircuitOpenError, without connecting, while its circuit breaker is open.",
        extensions=guarded("scan:write", _by_name),
    )
    async def start_scan(self, info: Info, source: str) -> StartScanPayload:
        if errors := await _unknown(info, source, SCAN_WRITE):
            return StartScanPayload(errors=errors)
        if refusal := await refused(info, source):
            return StartScanPayload(errors=[refusal])
        if holder := await scan.source_holder(info.context.state.redis, source):
            return StartScanPayload(errors=[SourceBusyError.of(SourceBusy(source, holder))])
        _, correlation = await _check(info, source)
        if correlation:
            failed = ConnectionFailedError(message=_failed(correlation), correlation_id=correlation)
            return StartScanPayload(errors=[failed])
        try:
            first = await info.context.state.scans.start(source)
        except TooManyScans as err:
            return StartScanPayload(errors=[BusyError(message=str(err))])
        return StartScanPayload(scan_id=strawberry.ID(first.scan_id), scan=Scan.started(first))

    @strawberry.mutation(
        description="Forget a data source: its assets are marked removed and announced so.",
        extensions=guarded("source:admin", _by_name),
    )
    async def unregister_data_source(self, info: Info, source: str) -> UnregisterDataSourcePayload:
        if errors := await _unknown(info, source, SOURCE_ADMIN):
            return UnregisterDataSourcePayload(errors=errors)
        state = info.context.state
        driver, database = info.context.graph
        try:
            removed = await registration.unregister(
                driver, database, state.producer, state.settings.ingest.changes_topic, source,
                state.redis,
            )  # fmt: skip
        except SourceBusy as busy:
            return UnregisterDataSourcePayload(errors=[SourceBusyError.of(busy)])
        if removed is None:  # unregistered meanwhile by someone else
            info.context.loaders.forget(source_urn(source))
            return UnregisterDataSourcePayload(errors=await _unknown(info, source, SOURCE_ADMIN))
        await invalidate_cached(info, [source_urn(source), *removed])
        return UnregisterDataSourcePayload(removed_assets=len(removed))
