"""``productEvents``: a data product's workflow steps as they happen (the same CloudEvents
``datawave.mesh.v1`` carries), for anyone who may discover the product; the steps of an access
request only to its parties. Read like every subscription's channel (resolvers/channels.py)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Self

import strawberry
from strawberry.scalars import JSON

from core.kinds import KINDS
from mesh.events import ProductStep, product_channel
from resolvers.channels import events, reaches
from resolvers.context import Info
from resolvers.errors import coded
from resolvers.permissions import needs


@strawberry.type(description="A step of a data-mesh workflow (a datawave.mesh.v1 event).")
class MeshEvent:
    id: strawberry.ID
    action: str
    actor: str
    subject: strawberry.ID
    product: strawberry.ID | None
    version: strawberry.ID | None
    correlation_id: str
    time: datetime
    detail: JSON

    @classmethod
    def of(cls, event: ProductStep) -> Self:
        step = event.data
        return cls(
            id=strawberry.ID(event.id),
            action=step.action,
            actor=step.actor,
            subject=strawberry.ID(event.subject),
            product=strawberry.ID(step.product) if step.product else None,
            version=strawberry.ID(step.version) if step.version else None,
            correlation_id=event.correlationid,
            time=event.time,
            detail=step.detail,
        )


@strawberry.type
class MeshSubscription:
    @strawberry.subscription(
        description="The workflow steps of one data product: versions, gates, drift, access "
        "(a request's steps only to its parties, as `accessRequests` shows them).",
        extensions=needs("product:read"),
    )
    async def product_events(
        self, info: Info, product: strawberry.ID
    ) -> AsyncGenerator[MeshEvent, None]:
        found = await info.context.loaders.find(product)
        kind = KINDS.of_labels(found.labels) if found else None
        if kind is None or kind.name != "product":  # a table's URN: a channel nothing sends to
            raise coded("BAD_USER_INPUT", f"no data product {product}")
        async for event in events(info, product_channel(product), ProductStep):
            request = event.data.detail.get("request")  # mesh/events.emit_request
            if not isinstance(request, str) or await reaches(info, request):
                yield MeshEvent.of(event)
