"""Steward decisions on classification labels, and the review queue they work from.

A decision (confirmed or rejected) is never overwritten by a rescan and feeds the next
calibration (``datawave classify fit``). Rejecting a confidential or restricted label lifts
the column's masking, so it needs ``pii:read`` on the column; without it the rejection waits
in the review queue (``pending_rejection``, still masking) for someone who holds it: four eyes.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from enum import Enum

import strawberry

from core.urns import source_urn
from graph import labels
from graph.driver import Record
from live.changes import ChangeType
from ml.resample import classify_fresh
from ml.service import UnknownAsset, UnknownSource
from resolvers.announce import announce
from resolvers.audited import guarded
from resolvers.catalog.types import (
    Column,
    LabelContribution,
    asset_from_record,
    contributions_of,
)
from resolvers.common import Connection, NotFoundError, UserError
from resolvers.context import Info
from resolvers.governance.governed import governed
from resolvers.labels.evidence import shown_explanation
from resolvers.labels.reevaluation import ReevaluationPayload
from resolvers.masking import PII_READ
from resolvers.pagination import DEFAULT_PAGE_SIZE, check_page_size, keyset_page, ranked_position
from resolvers.permissions import needs
from security.masking import SENSITIVE
from security.rbac import permission

LABEL_WRITE = permission("label:write")


@strawberry.enum(description="What a steward decided about a label on a column.")
class LabelDecision(Enum):
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


@strawberry.input
class DecideLabelInput:
    column: strawberry.ID
    label: str = strawberry.field(description="Label name, e.g. PII.Email.")
    decision: LabelDecision
    note: str | None = None


@strawberry.type
class DecideLabelPayload:
    column: Column | None = None
    awaiting_approval: bool = strawberry.field(
        default=False,
        description="The rejection waits for someone with pii:read; the column stays masked.",
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class WithdrawLabelDecisionInput:
    column: strawberry.ID
    label: str = strawberry.field(description="Label name, e.g. PII.Email.")


@strawberry.type(
    description="Withdrawing the decision would delete a sensitive label a steward put on the "
    "column and lift its masking: that needs pii:read in the column's scope."
)
class UnmaskingRefusedError(UserError):
    urn: strawberry.ID


@strawberry.type
class WithdrawLabelDecisionPayload:
    column: Column | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.enum(description="Why a label waits in the review queue.")
class ReviewReason(Enum):
    UNSURE = "review"
    REJECTION_REQUESTED = labels.PENDING_REJECTION


@strawberry.type(
    description="A label waiting for a steward: the classifier was unsure (confidence 0.5 to "
    "0.9), or a steward without pii:read asked to reject a sensitive label."
)
class ReviewItem:
    column: Column
    label: str
    confidence: float | None
    reason: ReviewReason
    requested_by: str | None = strawberry.field(description="Who asked for the rejection.")


@strawberry.type(
    description="A label that came close (confidence 0.2 to 0.5): not applied and not masking, "
    "listed so that a steward can confirm it with decideLabel."
)
class LabelCandidate:
    column: Column
    label: str
    confidence: float | None
    contributions: list[LabelContribution]
    explanation_text: strawberry.Private[str | None] = None
    evidence_json: strawberry.Private[str | None] = None
    sensitivity: strawberry.Private[str | None] = None

    @strawberry.field(
        description="Why, in one sentence; the examples it quotes are in clear only with pii:read."
    )
    async def explanation(self, info: Info) -> str | None:
        return await shown_explanation(
            info, self.column.id, self.label, self.sensitivity, self.explanation_text,
            self.evidence_json,
        )  # fmt: skip


def _actor(info: Info) -> str:
    principal = info.context.guard.principal  # set: ``guarded`` refused anonymous callers
    return principal.subject if principal else "anonymous"


@strawberry.type
class LabelMutation:
    @strawberry.mutation(
        description="Confirm or reject a label on a column; rescans never override it.",
        extensions=[
            *governed("decideLabel", lambda input: input.column),
            *guarded("label:write", lambda input: f"{input.column} {input.label}"),
        ],
    )
    async def decide_label(self, info: Info, input: DecideLabelInput) -> DecideLabelPayload:
        record = await info.context.loaders.find(input.column, LABEL_WRITE)
        column = asset_from_record(record) if record else None
        if not isinstance(column, Column):
            return DecideLabelPayload(errors=[NotFoundError(urn=input.column, message="no column")])
        may_unmask = info.context.guard.reaches(record, PII_READ)
        edge = await labels.decide_label(
            *info.context.graph, input.column, input.label, input.decision.value,
            steward=_actor(info), at=datetime.now(UTC), note=input.note,
            protected=() if may_unmask else SENSITIVE,
        )  # fmt: skip
        if edge is None:
            message = f"no label {input.label!r}"
            return DecideLabelPayload(errors=[NotFoundError(urn=input.label, message=message)])
        await announce(info, ChangeType.CHANGED, [input.column], ["labels"])
        pending = edge["status"] == labels.PENDING_REJECTION
        return DecideLabelPayload(column=column, awaiting_approval=pending)

    @strawberry.mutation(
        description="Withdraw a steward's decision on a column's label: a label the machine "
        "found returns to its status, one the steward set goes. Withdrawing a rejection of an "
        "inherited label lets it flow through the column again, to it and below.",
        extensions=[
            *governed("withdrawLabelDecision", lambda input: input.column),
            *guarded("label:write", lambda input: f"{input.column} {input.label}"),
        ],
    )
    async def withdraw_label_decision(
        self, info: Info, input: WithdrawLabelDecisionInput
    ) -> WithdrawLabelDecisionPayload:
        record = await info.context.loaders.find(input.column, LABEL_WRITE)
        column = asset_from_record(record) if record else None
        if not isinstance(column, Column):
            missing = NotFoundError(urn=input.column, message="no column")
            return WithdrawLabelDecisionPayload(errors=[missing])
        may_unmask = info.context.guard.reaches(record, PII_READ)
        done = await labels.withdraw_decision(
            *info.context.graph, input.column, input.label,
            protected=() if may_unmask else SENSITIVE,
        )  # fmt: skip
        if done is None:
            message = f"no decision on {input.label!r} there"
            return WithdrawLabelDecisionPayload(
                errors=[NotFoundError(urn=input.column, message=message)]
            )
        if done.unmasks:
            message = f"withdrawing it would unmask {input.label!r}: needs pii:read"
            refused = UnmaskingRefusedError(urn=input.column, message=message)
            return WithdrawLabelDecisionPayload(errors=[refused])
        await announce(info, ChangeType.CHANGED, [input.column], ["labels"])
        return WithdrawLabelDecisionPayload(column=column)


@strawberry.enum(description="What on-demand classification read the columns' values from.")
class SampleOrigin(Enum):
    SOURCE = strawberry.enum_value(
        "source", description="Read again through the source's connector, bounded like a scan."
    )
    PROFILE = strawberry.enum_value(
        "profile",
        description="The source could not be read (see unsampledReason): the profile's min "
        "and max stood in, so confidence is lower.",
    )


@strawberry.type
class ClassifyPayload:
    columns: list[Column] = strawberry.field(default_factory=list)
    sampled_from: SampleOrigin | None = None
    unsampled_reason: str | None = strawberry.field(
        default=None, description="Why the source was not read (unreachable, breaker open...)."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ClassifyMutation:
    @strawberry.mutation(
        description="Classify a table's columns (or one column) now, on values read again "
        "from the source (bounded by its sampleSize, profileRows and timeoutS). A label that "
        "had stronger evidence stays, and steward decisions stand.",
        extensions=guarded("label:write", lambda urn: urn),
    )
    async def classify(self, info: Info, urn: strawberry.ID) -> ClassifyPayload:
        if await info.context.loaders.find(urn, LABEL_WRITE) is None:
            return ClassifyPayload(errors=[NotFoundError(urn=urn, message=f"no asset {urn}")])
        service = await info.context.state.classifier.get()
        await service.use_active_model()
        try:
            done = await classify_fresh(service, info.context.state.settings, urn)
        except UnknownAsset:
            return ClassifyPayload(errors=[NotFoundError(urn=urn, message="no columns there")])
        urns = [c.urn for c in done.columns]
        await announce(info, ChangeType.CHANGED, urns, ["labels"])
        records = await asyncio.gather(*(info.context.loaders.node(u) for u in urns))
        return ClassifyPayload(
            columns=[c for r in records if r and isinstance(c := asset_from_record(r), Column)],
            sampled_from=SampleOrigin.SOURCE if done.sampled else SampleOrigin.PROFILE,
            unsampled_reason=done.problem,
        )

    @strawberry.mutation(
        description="Re-score the evidence stored on machine labels with the registry's active "
        "classifier model, after a new version was fitted or activated: the columns another "
        "version scored, of one source or all. Steward decisions stand. Needs system:admin.",
        extensions=guarded("system:admin", lambda source=None: source or "all sources"),
    )
    async def reevaluate_labels(self, info: Info, source: str | None = None) -> ReevaluationPayload:
        service = await info.context.state.classifier.get()
        await service.use_active_model()
        try:
            report = await service.reevaluate(source)
        except UnknownSource:  # a typo re-scored nothing and answered success
            urn = source_urn(str(source))
            return ReevaluationPayload(errors=[NotFoundError(urn=urn, message="no such source")])
        if report.scored:
            await announce(info, ChangeType.CHANGED, report.scored, ["labels"])
        return ReevaluationPayload.of(report)


@strawberry.type
class LabelQuery:
    @strawberry.field(
        description="Labels waiting for a steward within your scope, most confident first.",
        extensions=needs("label:write"),
    )
    async def review_queue(
        self,
        info: Info,
        source: str | None = None,
        reason: ReviewReason | None = None,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Connection[ReviewItem]:
        check_page_size(first)
        place = _place(after, "reviewQueue")
        domains, sources = info.context.guard.scope()
        where = {
            "source": source, "domains": domains, "sources": sources,
            "awaiting": [reason.value] if reason else [r.value for r in ReviewReason],
        }  # fmt: skip
        driver, database = info.context.graph
        rows = await labels.review_queue(driver, database, **where, after=place, limit=first + 1)
        # One batched load for the page (DataLoader), scoped like every other read.
        records = await asyncio.gather(*(info.context.loaders.node(r["urn"]) for r in rows))
        items = [
            ReviewItem(
                column=column,
                label=row["label"],
                confidence=row["edge"].get("confidence"),
                reason=ReviewReason(row["edge"]["status"]),
                requested_by=row["edge"].get("requestedBy"),
            )
            if record and isinstance(column := asset_from_record(record), Column)
            else None
            for row, record in zip(rows, records, strict=True)
        ]

        async def count() -> int:
            return await labels.count_review_queue(driver, database, **where)

        return keyset_page(items, _places(rows), first, count)

    @strawberry.field(
        description="Near-miss labels within your scope, most confident first.",
        extensions=needs("label:write"),
    )
    async def label_candidates(
        self,
        info: Info,
        source: str | None = None,
        column: strawberry.ID | None = None,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Connection[LabelCandidate]:
        check_page_size(first)
        place = _place(after, "labelCandidates")
        domains, sources = info.context.guard.scope()
        where = {"source": source, "column": column, "domains": domains, "sources": sources}
        driver, database = info.context.graph
        rows = await labels.candidate_labels(
            driver, database, **where, after=place, limit=first + 1
        )
        records = await asyncio.gather(*(info.context.loaders.node(r["urn"]) for r in rows))
        items = [
            LabelCandidate(
                column=found,
                label=row["label"],
                confidence=row["edge"].get("confidence"),
                contributions=contributions_of(row["edge"].get("contributions")),
                explanation_text=row["edge"].get("explanation"),
                evidence_json=row["edge"].get("evidence"),
                sensitivity=row["sensitivity"],
            )
            if record and isinstance(found := asset_from_record(record), Column)
            else None
            for row, record in zip(rows, records, strict=True)
        ]

        async def count() -> int:
            return await labels.count_candidate_labels(driver, database, **where)

        return keyset_page(items, _places(rows), first, count)


def _place(after: str | None, of: str) -> labels.Place | None:
    """Where the page of ``of`` that ``after`` ends stopped: the next starts after it, so
    labels decided meanwhile (which leave the list) make it skip none."""
    position = ranked_position(after, of)
    return labels.Place(*position) if position else None


def _places(rows: list[Record]) -> list[list[str]]:
    return [[str(r["rank"]), r["urn"], r["label"]] for r in rows]
