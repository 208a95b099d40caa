"""``productEvents``: a data product's workflow steps as they happen (the same CloudEvents
``datawave.mesh.v1`` carries), for anyone who may discover the product."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Self

import strawberry
from strawberry.scalars import JSON

from core.events import CorrelatedEvent, MeshStep
from mesh.events import product_channel
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
    def of(cls, event: CorrelatedEvent) -> Self:
        step = MeshStep.model_validate(event.data)
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
        description="The workflow steps of one data product: versions, gates, drift, access.",
        extensions=needs("product:read"),
    )
    async def product_events(
        self, info: Info, product: strawberry.ID
    ) -> AsyncGenerator[MeshEvent, None]:
        if await info.context.loaders.find(product) is None:
            raise coded("BAD_USER_INPUT", f"no data product {product}")
        context = info.context
        leeway = context.state.settings.auth.clock_skew_s
        async with context.state.broadcast.subscribe(product_channel(product)) as sub:
            async for message in sub:
                principal = context.guard.principal
                if principal is None or principal.expired(leeway):
                    raise coded("UNAUTHENTICATED", "token expired: subscribe again with a new one")
                yield MeshEvent.of(CorrelatedEvent.model_validate(message))
