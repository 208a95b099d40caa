"""What a test's own sources leave in the shared stack, removed when it ends.

A developer's ``make up`` estate lives in the same Neo4j and OpenSearch as the tests, so a
test that registers a source deletes everything of it afterwards: otherwise every run of
``make test`` adds sources named ``t0638a3fc94`` to their catalogue, its search and its lineage.
"""

from __future__ import annotations

from neo4j import AsyncDriver
from opensearchpy import AsyncOpenSearch

from core.settings import Settings
from graph.driver import write
from live.search import INDEX, reindex

# A source's nodes carry its name as ``source`` (assets, versions, scans, jobs, runs, findings)
# or in their URN (an asset the classifier wrote before the worker did, a table's profile
# history and its anomalies, keyed by the table's URN); the DataSource node has it as ``name``;
# the points of a profile hang off it (graph/anomalies.py). A test's teams, labels and domains
# are named after its source, its data products ``urn:dw:product:<name>/...``
# (tests/integration/estate.py).
# One pass over the nodes for every name.
DROP = """
MATCH (n)
WHERE n.source IN $names
   OR any(name IN $names WHERE (n:DataSource AND n.name = name)
      OR any(kind IN ['database', 'schema', 'table', 'column']
             WHERE coalesce(n.urn, n.table) STARTS WITH 'urn:dw:' + kind + ':' + name + '/')
      OR ((n:Team OR n:Label OR n:Domain) AND n.name STARTS WITH name)
      OR (n:DataProduct AND n.urn STARTS WITH 'urn:dw:product:' + name + '/'))
OPTIONAL MATCH (n)-[:HAD]->(point:ProfilePoint)
DETACH DELETE n, point
"""


async def drop_sources(settings: Settings, driver: AsyncDriver, *names: str) -> None:
    """Every node of the sources ``names`` (the source itself included) and their search
    documents (dropped as the API drops those of assets gone from the graph)."""
    await write(driver, settings.neo4j.database, DROP, names=list(names))
    client = AsyncOpenSearch(hosts=[settings.opensearch_url])
    try:  # after the graph: a document indexed meanwhile from what was there goes too
        query = {"query": {"terms": {"source": list(names)}}, "_source": False, "size": 10_000}
        found = await client.search(index=INDEX, body=query, params={"ignore_unavailable": "true"})
        indexed = [hit["_id"] for hit in found["hits"]["hits"]]
        await reindex(client, driver, settings.neo4j.database, indexed)
    finally:
        await client.close()


async def drop_models(settings: Settings, driver: AsyncDriver, registry: str) -> None:
    """The classifier models of ``registry``."""
    query = "MATCH (m:ClassifierModel {registry: $registry}) DELETE m"
    await write(driver, settings.neo4j.database, query, registry=registry)


async def drop_classified(settings: Settings, driver: AsyncDriver, name: str) -> None:
    """What a classifier of registry ``name`` wrote of source ``name``, and its models."""
    await drop_sources(settings, driver, name)
    await drop_models(settings, driver, name)
