"""Data-source mutations: register a source, test its connection, start a scan of it.

The connection settings are checked by the connectors' own config model and registry, so the
API accepts exactly what a connector can use. Secrets never pass through: only a reference.
A source out of the caller's scope is unknown to it, like a missing one; registering a name out
of scope is FORBIDDEN (that depends on the token alone, so it reveals nothing).
"""

from __future__ import annotations

from typing import Any

import strawberry
from pydantic import ValidationError

from core.sources import DataSourceConfig
from core.urns import source_urn
from graph import sources
from ingest import scan
from ingest.connectors.base import registry
from live.changes import ChangeType
from live.scans import TooManyScans
from resolvers.announce import announce
from resolvers.audited import guarded
from resolvers.catalog.types import DataSource
from resolvers.common import InvalidInputError, NotFoundError, UserError
from resolvers.context import Info
from resolvers.errors import coded
from resolvers.permissions import FORBIDDEN
from security.rbac import Permission, permission

REGISTERED = [f.alias for f in DataSourceConfig.model_fields.values() if f.alias != "name"]
SOURCE_WRITE = permission("source:write")
SCAN_WRITE = permission("scan:write")


@strawberry.experimental.pydantic.input(
    model=DataSourceConfig,
    all_fields=True,
    description="How to reach a source; the password stays in a secret store.",
)
class DataSourceInput:
    """Derived from ``core.sources.DataSourceConfig``: every field the scan reads is here."""


@strawberry.type(description="What a connection test saw.")
class SourceCheck:
    status: str = strawberry.field(description="reachable or unreachable")
    server_version: str | None
    error: str | None
    databases: int | None = strawberry.field(description="Databases it would scan.")


@strawberry.type(description="The API replica is busy; try again later.")
class BusyError(UserError):
    pass


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
        default=None, description="Follow it with the scanProgress subscription."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


def _config(values: dict[str, Any]) -> DataSourceConfig | list[UserError]:
    """A connector config, or the errors naming what is wrong."""
    try:
        config = DataSourceConfig(**values)
    except ValidationError as err:
        return [
            InvalidInputError(field=_camel(str(e["loc"][0] if e["loc"] else "")), message=e["msg"])
            for e in err.errors()
        ]
    if config.kind not in registry.kinds():
        known = ", ".join(registry.kinds())
        return [
            InvalidInputError(field="kind", message=f"no connector {config.kind!r}; known: {known}")
        ]
    return config


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(p.title() for p in rest)


async def _unknown(info: Info, name: str, need: Permission) -> list[UserError]:
    """A NotFoundError unless ``name`` is a registered source the caller may ``need``."""
    if await info.context.loaders.find(source_urn(name), need) is not None:
        return []
    return [NotFoundError(urn=source_urn(name), message=f"no data source {name!r}")]


def _by_name(**kwargs: object) -> str:
    """The audited resource of a source mutation: the source's URN."""
    name = kwargs.get("source") or getattr(kwargs.get("input"), "name", "")
    return source_urn(str(name))


@strawberry.type
class SourceMutation:
    @strawberry.mutation(
        description="Register (or update) a data source to scan.",
        extensions=guarded("source:write", _by_name),
    )
    async def register_data_source(
        self, info: Info, input: DataSourceInput
    ) -> RegisterDataSourcePayload:
        config = _config(strawberry.asdict(input))
        if isinstance(config, list):
            return RegisterDataSourcePayload(errors=config)
        guard = info.context.guard
        if not guard.can(SOURCE_WRITE, source=config.name):
            guard.audit.note(str(SOURCE_WRITE), source_urn(config.name), "denied", "out of scope")
            raise coded(FORBIDDEN, f"forbidden: source {config.name!r} is outside your scope")
        driver, database = info.context.graph
        known = await sources.get_source(driver, database, config.name)
        record = await sources.register_source(driver, database, config)
        change = ChangeType.CHANGED if known else ChangeType.ADDED
        await announce(info, change, [source_urn(config.name)], REGISTERED)
        return RegisterDataSourcePayload(data_source=DataSource.from_props(record))

    @strawberry.mutation(
        description="Connect to a registered source and report what it sees.",
        extensions=guarded("source:write", _by_name),
    )
    async def test_data_source(self, info: Info, source: str) -> TestDataSourcePayload:
        if errors := await _unknown(info, source, SOURCE_WRITE):
            return TestDataSourcePayload(errors=errors)
        state = info.context.state
        checked = await scan.check_source(state.settings, state.neo4j, source)
        return TestDataSourcePayload(
            check=SourceCheck(
                status=checked.status,
                server_version=checked.server_version,
                error=checked.error,
                databases=checked.counts.get("databases"),
            )
        )

    @strawberry.mutation(
        description="Scan a registered source now, from this API replica.",
        extensions=guarded("scan:write", _by_name),
    )
    async def start_scan(self, info: Info, source: str) -> StartScanPayload:
        if errors := await _unknown(info, source, SCAN_WRITE):
            return StartScanPayload(errors=errors)
        try:
            scan_id = info.context.state.scans.start(source)
        except TooManyScans as err:
            return StartScanPayload(errors=[BusyError(message=str(err))])
        return StartScanPayload(scan_id=scan_id)
