"""Reading the classifier's model registry: the ``:ClassifierModel`` versions ml/ registers
(graph/labels.py writes them), without their parameters."""

from __future__ import annotations

from neo4j import AsyncDriver

from graph.driver import Record, read

# By registry, newest version first; a page starts after the previous page's last (registry,
# version).
PAGE = """
MATCH (m:ClassifierModel)
WHERE ($registry IS NULL OR m.registry = $registry)
  AND ($afterRegistry IS NULL OR m.registry > $afterRegistry
       OR (m.registry = $afterRegistry AND m.version < $afterVersion))
RETURN m {.*, params: null} AS model
ORDER BY m.registry, m.version DESC LIMIT $limit
"""
COUNT = """
MATCH (m:ClassifierModel) WHERE $registry IS NULL OR m.registry = $registry
RETURN count(m) AS n
"""


async def model_page(
    driver: AsyncDriver,
    database: str,
    registry: str | None,
    limit: int,
    after: tuple[str, int] | None = None,
) -> list[Record]:
    """Up to ``limit`` model versions after the position ``(registry, version)``."""
    at_registry, at_version = after or (None, None)
    return [
        r["model"]
        for r in await read(
            driver,
            database,
            PAGE,
            registry=registry,
            limit=limit,
            afterRegistry=at_registry,
            afterVersion=at_version,
        )
    ]


async def count_models(driver: AsyncDriver, database: str, registry: str | None) -> int:
    return (await read(driver, database, COUNT, registry=registry))[0]["n"]
