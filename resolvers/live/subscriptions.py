"""Live subscriptions: catalog changes, scan progress, anomalies, compliance updates.

Each reads its channel through resolvers/channels.py (bounded queue, slow consumers closed
with ``SLOW_CONSUMER``, messages of another shape skipped, expired tokens ending it), and
subscribers get only the events of what they may see.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from functools import partial
from typing import Annotated, TypeVar

import strawberry

from core.outages import wait_out
from governance.evaluation import ALL_DOMAINS
from live import changes
from live.log import CursorExpired, after, replay
from live.log import head as log_head
from resolvers.channels import events, reaches
from resolvers.context import Info
from resolvers.errors import ClientError, coded
from resolvers.live.types import CatalogChange, CatalogChangeFilter, ComplianceUpdate, ScanProgress
from resolvers.permissions import needs
from resolvers.quality.types import Anomaly, AnomalyFilter
from security.rbac import permission

MAX_KEY = 200
SOURCE_READ = permission("source:read")
Since = Annotated[
    str | None,
    strawberry.argument(
        description="The `cursor` of the last event you received: what came after it first."
    ),
]


L = TypeVar("L", changes.CatalogChange, changes.ComplianceUpdate)


async def _logged(info: Info, channel: str, model: type[L], since: str | None) -> AsyncIterator[L]:
    """A logged channel's events (live/log.py) after ``since``, or from now without it: what
    the log holds after the last cursor delivered is replayed first and after each Redis
    outage, so none is missed and none comes twice; CURSOR_EXPIRED if the log lost some."""
    state = info.context.state
    # Read before subscribing, so the first catch-up replays what falls in between.
    now = partial(log_head, state.redis, channel)
    last = since or await wait_out(now, state.settings.resilience, "subscriptions")

    async def catch_up() -> list[L]:
        try:
            return [model.model_validate(m) async for m in replay(state.redis, channel, last)]
        except CursorExpired as err:
            raise coded("CURSOR_EXPIRED", str(err), cursor=err.head) from err

    async for event in events(info, channel, model, catch_up):
        if event.cursor is not None:
            if not after(event.cursor, last):
                continue  # replayed already
            last = event.cursor
        yield event


def _key(name: str, value: str) -> str:
    if not 0 < len(value) <= MAX_KEY:
        raise ClientError(f"{name} must have 1 to {MAX_KEY} characters")
    return value


@strawberry.type
class LiveSubscription:
    @strawberry.subscription(
        description="Assets added, changed or removed, as they happen. Each carries a `cursor`: "
        "subscribe again with `since` set to the last one you received (after a dropped "
        "connection or a server restart) and the changes you missed come first, then live "
        "ones, none twice; a Redis outage under the server is caught up the same way. If they "
        "are no longer all kept, the stream ends with a CURSOR_EXPIRED error "
        "(`extensions.cursor`: the newest): re-read with the queries, then subscribe with "
        "that cursor.",
        extensions=needs("asset:read"),
    )
    async def catalog_changes(
        self, info: Info, filter: CatalogChangeFilter | None = None, since: Since = None
    ) -> AsyncGenerator[CatalogChange, None]:
        events = _logged(info, changes.CATALOG_CHANNEL, changes.CatalogChange, since)
        async for change in events:
            if (filter is None or filter.matches(change)) and await reaches(info, change.urn):
                yield CatalogChange.from_pydantic(change)

    @strawberry.subscription(
        description="Progress of one scan, stage by stage: its current state first (a scan "
        "that ended sends its last), then each report; complete after FINISHED or FAILED.",
        extensions=needs("source:read"),
    )
    async def scan_progress(
        self, info: Info, scan_id: strawberry.ID
    ) -> AsyncGenerator[ScanProgress, None]:
        channel = changes.scan_channel(_key("scanId", scan_id))
        guard = info.context.guard
        redis = info.context.state.redis
        seen = None

        async def current() -> list[changes.ScanProgress]:
            now = await changes.scan_state(redis, scan_id)
            return [now] if now is not None else []

        async for progress in events(info, channel, changes.ScanProgress, current):
            if not guard.can(SOURCE_READ, source=progress.source):
                continue
            if seen is not None and progress.at <= seen:
                continue  # published before the current state was read
            seen = progress.at
            yield ScanProgress.from_pydantic(progress)
            if progress.final:
                return

    @strawberry.subscription(
        description="Anomalies as the classifier finds them in scans, of the tables you may "
        "see (the `anomalies` query has those found before).",
        extensions=needs("asset:read"),
    )
    async def anomalies(
        self, info: Info, filter: AnomalyFilter | None = None
    ) -> AsyncGenerator[Anomaly, None]:
        async for anomaly in events(info, changes.ANOMALY_CHANNEL, changes.Anomaly):
            if (filter is None or filter.matches(anomaly)) and await reaches(info, anomaly.table):
                yield Anomaly.from_pydantic(anomaly)

    @strawberry.subscription(
        description="Compliance evaluations of one domain as they change; `cursor` and "
        "`since` as in `catalogChanges`.",
        # Findings and scores, as the ``findings`` query and ``complianceReport`` show them.
        extensions=needs("compliance:read", domain_arg="domain"),
    )
    async def compliance_updates(
        self, info: Info, domain: str, since: Since = None
    ) -> AsyncGenerator[ComplianceUpdate, None]:
        if domain == ALL_DOMAINS and not info.context.guard.unrestricted:
            # The estate's scores and every source's findings, as complianceReport without one.
            raise ClientError("name a domain: your scope does not cover the whole estate")
        channel = changes.compliance_channel(_key("domain", domain))
        async for update in _logged(info, channel, changes.ComplianceUpdate, since):
            # A finding goes to whom ``findings`` shows it (its recorded domains and source,
            # all in scope); a score is the domain's, which ``needs`` checked.
            if update.urn is None or await reaches(info, update.urn):
                yield ComplianceUpdate.from_pydantic(update)
