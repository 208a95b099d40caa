"""Curation mutations: describe an asset (description, tags, owner), assert lineage by hand.

Expected failures (unknown URN, invalid input) come back as typed ``errors`` in the payload;
an asset out of the caller's scope is unknown to it, like a missing one.
"""

from __future__ import annotations

import asyncio

import strawberry

from graph import curation
from live.changes import ChangeType
from resolvers.announce import announce
from resolvers.audited import guarded
from resolvers.catalog.types import Asset, Column, Table, asset_from_record
from resolvers.common import InvalidInputError, NotFoundError, UserError
from resolvers.context import Info
from resolvers.governance.governed import governed
from resolvers.lineage.types import LineageEdge
from security.rbac import permission

MAX_DESCRIPTION = 10_000
MAX_TAGS = 50
MAX_NAME = 200
ASSET_WRITE = permission("asset:write")
LINEAGE_WRITE = permission("lineage:write")


@strawberry.input
class DescribeAssetInput:
    urn: strawberry.ID
    description: str | None = strawberry.field(
        default=None, description="New description; empty clears it, omitted leaves it."
    )
    tags: list[str] | None = strawberry.field(
        default=None, description="Replaces the tags; omitted leaves them."
    )
    owner: str | None = strawberry.field(
        default=None, description="Name of the team that owns it (replaces other owners)."
    )

    def problems(self) -> list[UserError]:
        errors: list[UserError] = []
        if self.description is not None and len(self.description) > MAX_DESCRIPTION:
            errors.append(
                InvalidInputError(
                    field="description", message=f"at most {MAX_DESCRIPTION} characters"
                )
            )
        if self.tags is not None and (
            len(self.tags) > MAX_TAGS or any(not 0 < len(t.strip()) <= MAX_NAME for t in self.tags)
        ):
            errors.append(
                InvalidInputError(
                    field="tags", message=f"at most {MAX_TAGS} tags of 1 to {MAX_NAME} characters"
                )
            )
        if self.owner is not None and not 0 < len(self.owner.strip()) <= MAX_NAME:
            errors.append(
                InvalidInputError(
                    field="owner", message=f"a team name of 1 to {MAX_NAME} characters"
                )
            )
        return errors


@strawberry.type
class DescribeAssetPayload:
    asset: Asset | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class AddLineageInput:
    upstream: strawberry.ID
    downstream: strawberry.ID


@strawberry.type
class AddLineagePayload:
    edge: LineageEdge | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


def _not_found(urn: str) -> NotFoundError:
    return NotFoundError(urn=urn, message=f"no asset {urn}")


@strawberry.type
class CurationMutation:
    @strawberry.mutation(
        description="Set an asset's description, tags and owning team.",
        extensions=[
            *governed("describeAsset", lambda input: input.urn),
            *guarded("asset:write", lambda input: input.urn),
        ],
    )
    async def describe_asset(self, info: Info, input: DescribeAssetInput) -> DescribeAssetPayload:
        if errors := input.problems():
            return DescribeAssetPayload(errors=errors)
        if await info.context.loaders.find(input.urn, ASSET_WRITE) is None:
            return DescribeAssetPayload(errors=[_not_found(input.urn)])
        record = await curation.describe_asset(
            *info.context.graph,
            input.urn,
            description=input.description,
            tags=[t.strip() for t in input.tags] if input.tags is not None else None,
            owner=input.owner.strip() if input.owner is not None else None,
        )
        if record is None:  # deleted in between
            return DescribeAssetPayload(errors=[_not_found(input.urn)])
        fields = [
            name
            for name, value in (
                ("description", input.description),
                ("tags", input.tags),
                ("owners", input.owner),
            )
            if value is not None
        ]
        await announce(info, ChangeType.CHANGED, [input.urn], fields)
        return DescribeAssetPayload(asset=asset_from_record(record))

    @strawberry.mutation(
        description="Record by hand that one table (or column) feeds another.",
        extensions=guarded(
            "lineage:write", lambda input: f"{input.upstream} -> {input.downstream}"
        ),
    )
    async def add_lineage(self, info: Info, input: AddLineageInput) -> AddLineagePayload:
        loaders = info.context.loaders
        up, down = await asyncio.gather(
            loaders.find(input.upstream, LINEAGE_WRITE),
            loaders.find(input.downstream, LINEAGE_WRITE),
        )
        errors: list[UserError] = [
            _not_found(urn)
            for urn, r in ((input.upstream, up), (input.downstream, down))
            if r is None
        ]
        if not errors and input.upstream == input.downstream:
            errors.append(
                InvalidInputError(field="downstream", message="an asset cannot feed itself")
            )
        if not errors and not _same_level(asset_from_record(up), asset_from_record(down)):
            errors.append(
                InvalidInputError(
                    field="downstream", message="lineage links two tables or two columns"
                )
            )
        if errors:
            return AddLineagePayload(errors=errors)
        edge = await curation.add_manual_lineage(
            *info.context.graph, input.upstream, input.downstream
        )
        if edge is None:  # deleted in between
            return AddLineagePayload(errors=[_not_found(input.upstream)])
        await announce(info, ChangeType.CHANGED, [input.upstream, input.downstream], ["lineage"])
        return AddLineagePayload(edge=LineageEdge.from_record(edge))


def _same_level(a: Asset | None, b: Asset | None) -> bool:
    return any(isinstance(a, t) and isinstance(b, t) for t in (Table, Column))
