"""Live events and their publishers: catalog changes, scan progress, compliance updates.

Writers call these after their graph transaction commits, with any ``redis.asyncio.Redis``:

    await publish_catalog_change(redis, catalog_change(ChangeType.CHANGED, table_urn, ["rowCount"]))

``publish_catalog_change`` first invalidates the cached reads of the changed assets, then
broadcasts, so when it returns no API replica serves the old data and every replica's
``catalogChanges`` subscribers get the event. Pass many changes at once: one round trip each.
Catalog changes and compliance updates are also logged (live/log.py): each carries a
``cursor``, and a subscriber that was away replays what it missed after its last one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field
from redis.asyncio import Redis

from core.kinds import KINDS
from core.urns import Urn
from live.broadcast import publish
from live.cache import invalidate
from live.log import publish_logged

CATALOG_CHANNEL = "catalog"
ANOMALY_CHANNEL = "anomalies"
# A scan's last state stays this long after its last report, for late subscribers.
SCAN_STATE_TTL_S = 86_400


def scan_channel(scan_id: str) -> str:
    return f"scan:{scan_id}"


def _scan_state_key(scan_id: str) -> str:
    return f"datawave:scan-state:{scan_id}"


def compliance_channel(domain: str) -> str:
    return f"compliance:{domain}"


def _now() -> datetime:
    return datetime.now(UTC)


CURSOR = (
    "Its place in the live log (set once published): subscribe again with `since` set to the "
    "last one received to get what came after it first."
)


class LiveEvent(BaseModel):
    model_config = ConfigDict(frozen=True)


# Every kind of thing named by URN (core/kinds.py), as an enum: what a change is about.
UrnKind = StrEnum("UrnKind", {k.name.upper(): k.name for k in KINDS})  # type: ignore[misc]


class ChangeType(StrEnum):
    ADDED = "added"
    CHANGED = "changed"
    REMOVED = "removed"


class CatalogChange(LiveEvent):
    type: ChangeType
    urn: str
    kind: UrnKind  # type: ignore[valid-type]  # the URN's kind: source, table, column, ...
    # The data source of a sourced kind; None for data-mesh nodes (domain, team, product,
    # contract), which subscribers see by the domain the graph puts them in instead.
    source: str | None = None
    fields: list[str] = Field(default_factory=list)  # properties that changed, when known
    replaced_by: str | None = None  # what took the place of a removed asset, if anything
    at: datetime = Field(default_factory=_now)
    cursor: str | None = Field(None, description=CURSOR)


def catalog_change(
    type: ChangeType, urn: str, fields: Sequence[str] = (), replaced_by: str | None = None
) -> CatalogChange:
    """A change of the asset ``urn``; its kind and source are read from the URN."""
    parsed = Urn.parse(urn)
    return CatalogChange(
        type=type, urn=urn, kind=parsed.kind, source=parsed.source, fields=fields,
        replaced_by=replaced_by,
    )  # fmt: skip


class ScanStage(StrEnum):
    VALIDATE = "validate"
    DISCOVER = "discover"
    INTERRUPTED = "interrupted"
    RESUMED = "resumed"
    INGEST = "ingest"
    FINISHED = "finished"
    FAILED = "failed"


class ScanProgress(LiveEvent):
    """Where a scan is (``ingest.scan.ScanProgress`` on the wire, with its percentage)."""

    scan_id: str
    source: str
    stage: ScanStage
    target: str | None = None  # the URN being discovered
    events: int = 0
    tables: int = 0
    columns: int = 0
    expected_tables: int = 0
    ingested: int = 0  # events the ingest workers have committed
    percent: float = 0.0
    error: str | None = None
    at: datetime = Field(default_factory=_now)

    @property
    def final(self) -> bool:
        return self.stage in (ScanStage.FINISHED, ScanStage.FAILED)


class AnomalyKind(StrEnum):
    NULL_RATIO_JUMP = "null_ratio_jump"
    ROW_COUNT_DROP = "row_count_drop"
    NEW_SENSITIVE_COLUMN = "new_sensitive_column"


class Severity(StrEnum):
    WARNING = "warning"
    CRITICAL = "critical"


class Anomaly(LiveEvent):
    """What a scan found changed beyond a threshold (ml/anomalies.py), as the graph records it
    (graph/anomalies.py) and the classifier announces it on ``datawave.changes.v1``."""

    id: str
    kind: AnomalyKind
    severity: Severity
    subject: str  # the table or column URN
    table: str
    source: str | None = None
    detail: str
    at: datetime


class ComplianceUpdate(LiveEvent):
    """A score of a framework in a domain (``*``: the estate), or a finding that opened,
    resolved or was waived (``urn`` the finding's) in an evaluation (governance/evaluation.py)."""

    domain: str
    framework: str
    status: str  # a score's compliant, at_risk, non_compliant, not_covered; a finding's status
    score: float | None = None
    urn: str | None = None
    message: str | None = None
    rule_set_version: int | None = None
    at: datetime = Field(default_factory=_now)
    cursor: str | None = Field(None, description=CURSOR)


async def publish_catalog_change(redis: Redis, *changes: CatalogChange) -> None:
    """Invalidate the cache for these assets, then tell every replica's subscribers."""
    if not changes:
        return
    await invalidate(redis, [c.urn for c in changes])
    messages = (c.model_dump(mode="json", exclude={"cursor"}) for c in changes)
    await publish_logged(redis, CATALOG_CHANNEL, *messages)


async def publish_scan_progress(redis: Redis, *progress: ScanProgress) -> None:
    """Keep each scan's last state (``scan_state``), then broadcast it: a subscriber that
    comes late starts from where the scan is."""
    for p in progress:
        message = p.model_dump(mode="json")
        await redis.set(_scan_state_key(p.scan_id), json.dumps(message), ex=SCAN_STATE_TTL_S)
        await publish(redis, scan_channel(p.scan_id), message)


async def scan_state(redis: Redis, scan_id: str) -> ScanProgress | None:
    """The last state published for a scan, if it was within ``SCAN_STATE_TTL_S``."""
    raw = await redis.get(_scan_state_key(scan_id))
    return ScanProgress.model_validate_json(raw) if raw else None


async def publish_anomalies(redis: Redis, *anomalies: Anomaly) -> None:
    for a in anomalies:
        await publish(redis, ANOMALY_CHANNEL, a.model_dump(mode="json"))


async def publish_compliance_update(redis: Redis, *updates: ComplianceUpdate) -> None:
    """One round trip per domain: a full evaluation announces thousands of findings."""
    by_channel: dict[str, list[dict[str, object]]] = {}
    for u in updates:
        message = u.model_dump(mode="json", exclude={"cursor"})
        by_channel.setdefault(compliance_channel(u.domain), []).append(message)
    for channel, messages in by_channel.items():
        await publish_logged(redis, channel, *messages)
