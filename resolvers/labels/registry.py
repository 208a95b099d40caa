"""The classifier's model registry, read-only: each fitted version with what it was fitted on
and which one classifies now (``datawave classify fit`` registers a new one)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Self

import strawberry

from graph.model_registry import count_models, model_page
from graph.records import plain
from resolvers.common import Connection, Edge, PageInfo, timestamp
from resolvers.context import Info
from resolvers.errors import ClientError
from resolvers.pagination import (
    DEFAULT_PAGE_SIZE,
    check_page_size,
    keyset_cursor,
    keyset_position,
)
from resolvers.permissions import needs

# Properties that identify a version rather than measure it.
IDENTITY = {"id", "registry", "version", "name", "active", "fittedAt", "params"}


@strawberry.type(description="A number recorded with a model version, e.g. trainingColumns.")
class ModelMetric:
    name: str
    value: float


@strawberry.type(description="One fitted version of a classifier model.")
class ClassifierModel:
    id: strawberry.ID = strawberry.field(description="registry:version, e.g. default:2.")
    registry: str
    version: int
    active: bool = strawberry.field(description="Whether this version classifies now.")
    fitted_at: datetime | None
    metrics: list[ModelMetric] = strawberry.field(
        description="What the registry recorded with it (training size, steward examples, "
        "scores), by name."
    )

    @classmethod
    def from_props(cls, props: dict[str, Any]) -> Self:
        p = plain(props)
        return cls(
            id=strawberry.ID(p["id"]),
            registry=p["registry"],
            version=p["version"],
            active=bool(p.get("active")),
            fitted_at=timestamp(p, "fittedAt"),
            metrics=[
                ModelMetric(name=k, value=float(v))
                for k, v in sorted(p.items())
                if k not in IDENTITY and isinstance(v, int | float) and not isinstance(v, bool)
            ],
        )


def _position(cursor: str) -> tuple[str, int]:
    registry, version = keyset_position(cursor, 2, "classifierModels")
    if not version.isdigit():
        raise ClientError("invalid cursor: pass an endCursor of a classifierModels page")
    return registry, int(version)


@strawberry.type
class ModelRegistryQuery:
    @strawberry.field(
        description="Classifier model versions, by registry and newest first.",
        extensions=needs("label:read"),
    )
    async def classifier_models(
        self,
        info: Info,
        registry: str | None = None,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Connection[ClassifierModel]:
        check_page_size(first)
        driver, database = info.context.graph
        rows = await model_page(
            driver, database, registry, first + 1, _position(after) if after else None
        )

        async def count() -> int:
            return await count_models(driver, database, registry)

        def cursor(row: dict[str, Any]) -> str:
            return keyset_cursor([row["registry"], str(row["version"])])

        page = rows[:first]
        return Connection(
            edges=[
                Edge(node=ClassifierModel.from_props(r), position=lambda r=r: cursor(r))
                for r in page
            ],
            page_info=PageInfo(
                has_next_page=len(rows) > first, end_cursor=cursor(page[-1]) if page else None
            ),
            count=count,
        )
