"""Types of live events, derived from the pydantic models publishers use (live/changes.py)."""

from __future__ import annotations

import strawberry

from live import changes

strawberry.enum(changes.ChangeType, description="What happened to an asset.")


@strawberry.experimental.pydantic.type(
    model=changes.CatalogChange, all_fields=True, description="An asset was added or changed."
)
class CatalogChange:
    pass


@strawberry.experimental.pydantic.type(
    model=changes.ScanProgress, all_fields=True, description="How far a scan has got."
)
class ScanProgress:
    pass


@strawberry.experimental.pydantic.type(
    model=changes.ComplianceUpdate,
    all_fields=True,
    description="A compliance evaluation of a domain changed.",
)
class ComplianceUpdate:
    pass


@strawberry.input(description="Which catalog changes to receive; omitted fields match all.")
class CatalogChangeFilter:
    source: str | None = None
    kinds: list[str] | None = strawberry.field(
        default=None, description="URN kinds, e.g. table, column."
    )
    types: list[changes.ChangeType] | None = None
    urns: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Only these assets."
    )

    def matches(self, change: changes.CatalogChange) -> bool:
        return (
            (self.source is None or change.source == self.source)
            and (self.kinds is None or change.kind in self.kinds)
            and (self.types is None or change.type in self.types)
            and (self.urns is None or change.urn in self.urns)
        )
