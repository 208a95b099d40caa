"""Mutations with typed errors, and the read-through cache never serving what they replaced."""

from __future__ import annotations

import pytest
from neo4j import AsyncDriver
from redis.asyncio import Redis

from core.settings import Settings
from graph.driver import write
from live.changes import ChangeType, catalog_change, publish_catalog_change
from tests.integration.estate import Estate
from tests.integration.graphql.conftest import Execute

DESCRIBE = """
mutation ($input: DescribeAssetInput!) {
  describeAsset(input: $input) {
    asset { id description tags owners { name } }
    errors {
      __typename message
      ... on NotFoundError { urn }
      ... on InvalidInputError { field }
    }
  }
}
"""
ADD_LINEAGE = """
mutation ($input: AddLineageInput!) {
  addLineage(input: $input) {
    edge { from to kind via { name } }
    errors { __typename message ... on NotFoundError { urn } ... on InvalidInputError { field } }
  }
}
"""
TEXT_PAGE = "query ($f: AssetFilterInput) { assets(filter: $f) { edges { node { id } } } }"
ASSET = "query ($urn: ID!) { asset(urn: $urn) { description tags owners { name } } }"


@pytest.fixture
async def pair(estate: Estate, neo4j: AsyncDriver, settings: Settings) -> Estate:
    estate.table("src", ("id", "email"), description="from the app")
    estate.table("dst", ("id", "email"))
    await estate.write(neo4j, settings.neo4j.database)
    return estate


async def rescan(neo4j: AsyncDriver, settings: Settings, urn: str, description: str) -> None:
    """What ingest does to a table's description, followed by its catalog change."""
    query = """
    MATCH (t:Asset {urn: $urn})
    SET t.description = $description,
        t.descriptionLower = toLower(coalesce(t.curatedDescription, $description))
    """
    await write(neo4j, settings.neo4j.database, query, urn=urn, description=description)
    await announce(settings, urn)


async def announce(settings: Settings, urn: str) -> None:
    """The catalog change a writer outside the API publishes after changing ``urn``."""
    redis = Redis.from_url(settings.redis_url)
    try:
        await publish_catalog_change(redis, catalog_change(ChangeType.CHANGED, urn))
    finally:
        await redis.aclose()


async def found(execute: Execute, estate: Estate, text: str) -> list[str]:
    """The estate's tables whose name or description contains ``text``."""
    filter = {"source": estate.name, "kind": "TABLE", "text": text}
    page = (await execute(TEXT_PAGE, f=filter))["assets"]
    return [e["node"]["id"] for e in page["edges"]]


async def test_describe_asset_sets_and_clears(
    execute: Execute, pair: Estate, neo4j: AsyncDriver, settings: Settings
) -> None:
    urn, team = pair.table_urn("src"), f"{pair.name}-finance"
    result = (
        await execute(
            DESCRIBE,
            input={"urn": urn, "description": "Orders", "tags": [" gold ", "sales"], "owner": team},
        )
    )["describeAsset"]
    assert result == {
        "asset": {
            "id": urn,
            "description": "Orders",
            "tags": ["gold", "sales"],
            "owners": [{"name": team}],
        },
        "errors": [],
    }
    assert await found(execute, pair, "ORDERS") == [urn], "the text filter reads it"
    await rescan(neo4j, settings, urn, "comment from the database")
    assert (await execute(ASSET, urn=urn))["asset"]["description"] == "Orders", "curation wins"
    assert await found(execute, pair, "comment") == [], "what curation hides is not matched"
    other = f"{pair.name}-risk"
    await execute(DESCRIBE, input={"urn": urn, "description": "", "owner": other})
    assert (await execute(ASSET, urn=urn))["asset"] == {
        "description": "comment from the database",
        "tags": ["gold", "sales"],
        "owners": [{"name": other}],
    }, "an empty description clears the curated one, omitted tags stay, owners are replaced"
    assert await found(execute, pair, "comment") == [urn]


async def test_describe_asset_reports_expected_failures(execute: Execute, pair: Estate) -> None:
    missing = pair.table_urn("missing")
    result = (await execute(DESCRIBE, input={"urn": missing, "description": "x"}))["describeAsset"]
    assert result == {
        "asset": None,
        "errors": [
            {"__typename": "NotFoundError", "message": f"no asset {missing}", "urn": missing}
        ],
    }
    bad = {"urn": pair.table_urn("src"), "tags": [" "] * 3, "owner": ""}
    errors = (await execute(DESCRIBE, input=bad))["describeAsset"]["errors"]
    assert [(e["__typename"], e["field"]) for e in errors] == [
        ("InvalidInputError", "tags"),
        ("InvalidInputError", "owner"),
    ]


async def test_add_lineage_is_manual_and_idempotent(execute: Execute, pair: Estate) -> None:
    src, dst = pair.table_urn("src"), pair.table_urn("dst")
    for _ in range(2):
        result = (await execute(ADD_LINEAGE, input={"upstream": src, "downstream": dst}))[
            "addLineage"
        ]
        assert result == {
            "edge": {"from": src, "to": dst, "kind": "MANUAL", "via": None},
            "errors": [],
        }
    query = "query ($urn: ID!) { lineage(urn: $urn, depth: 1) { edges { from to kind } } }"
    assert (await execute(query, urn=dst))["lineage"]["edges"] == [
        {"from": src, "to": dst, "kind": "MANUAL"}
    ]


async def test_add_lineage_reports_expected_failures(execute: Execute, pair: Estate) -> None:
    src, missing = pair.table_urn("src"), pair.table_urn("missing")
    column = pair.column_urn("dst", "email")

    async def errors(upstream: str, downstream: str) -> list[tuple[str, str | None]]:
        result = await execute(ADD_LINEAGE, input={"upstream": upstream, "downstream": downstream})
        payload = result["addLineage"]
        assert payload["edge"] is None
        return [(e["__typename"], e.get("urn") or e.get("field")) for e in payload["errors"]]

    assert await errors(src, missing) == [("NotFoundError", missing)]
    assert await errors(src, src) == [("InvalidInputError", "downstream")]
    assert await errors(src, column) == [("InvalidInputError", "downstream")]


async def test_no_stale_read_once_a_change_is_published(
    execute: Execute, pair: Estate, neo4j: AsyncDriver, settings: Settings
) -> None:
    """A writer outside the API changes the graph: the cache holds the old value until the
    change is published, and never after."""
    urn = pair.table_urn("src")
    assert (await execute(ASSET, urn=urn))["asset"]["description"] == "from the app"
    await write(
        neo4j,
        settings.neo4j.database,
        "MATCH (t:Asset {urn: $urn}) SET t.description = 'rescanned'",
        urn=urn,
    )
    assert (await execute(ASSET, urn=urn))["asset"]["description"] == "from the app", "cached"
    await rescan(neo4j, settings, urn, "rescanned")
    assert (await execute(ASSET, urn=urn))["asset"]["description"] == "rescanned"


async def test_columns_and_labels_are_cached_until_a_change_is_published(
    execute: Execute, pair: Estate, neo4j: AsyncDriver, settings: Settings
) -> None:
    """A table's columns and their labels (the hot part of an asset's detail) come from Redis
    until the classifier, say, announces a change to a column; never stale after that."""
    urn, email = pair.table_urn("src"), pair.column_urn("src", "email")
    detail = "query ($urn: ID!) { asset(urn: $urn) { ... on Table { columns { name labels { label { name } } } } } }"  # noqa: E501

    def labels(result: dict) -> dict[str, list[str]]:
        return {
            c["name"]: [lab["label"]["name"] for lab in c["labels"]]
            for c in result["asset"]["columns"]
        }

    assert labels(await execute(detail, urn=urn)) == {"id": [], "email": []}
    await write(
        neo4j,
        settings.neo4j.database,
        "MATCH (c:Asset {urn: $urn}) MERGE (l:Label {name: 'PII.Email'})"
        " MERGE (c)-[:LABELED {status: 'suggested', confidence: 0.95}]->(l)",
        urn=email,
    )
    assert labels(await execute(detail, urn=urn))["email"] == [], "served from the cache"
    await announce(settings, email)
    assert labels(await execute(detail, urn=urn)) == {"id": [], "email": ["PII.Email"]}


async def test_pages_are_cached_until_any_change_is_published(
    execute: Execute, pair: Estate, neo4j: AsyncDriver, settings: Settings
) -> None:
    page = """query ($source: String!) { assets(first: 10, filter: {kind: TABLE, source: $source})
      { edges { node { name } } } }"""

    async def names() -> list[str]:
        result = await execute(page, source=pair.name)
        return [e["node"]["name"] for e in result["assets"]["edges"]]

    assert await names() == ["dst", "src"]
    await write(
        neo4j,
        settings.neo4j.database,
        "MATCH (s:Asset {urn: $schema}) CREATE (s)-[:CONTAINS]->(:Asset:Table"
        " {urn: $urn, name: 'new', source: $source, kind: 'table', schemaUrn: $schema})",
        schema=pair.schema,
        urn=pair.table_urn("new"),
        source=pair.name,
    )
    assert await names() == ["dst", "src"], "served from the cache"
    await announce(settings, pair.table_urn("new"))
    assert await names() == ["dst", "new", "src"]


async def test_a_mutation_invalidates_cached_reads(execute: Execute, pair: Estate) -> None:
    urn = pair.table_urn("src")
    lineage = "query ($urn: ID!) { lineage(urn: $urn, depth: 1) { edges { kind } } }"
    assert (await execute(ASSET, urn=urn))["asset"]["description"] == "from the app"
    assert (await execute(lineage, urn=urn))["lineage"]["edges"] == []
    await execute(DESCRIBE, input={"urn": urn, "description": "curated"})
    await execute(ADD_LINEAGE, input={"upstream": urn, "downstream": pair.table_urn("dst")})
    assert (await execute(ASSET, urn=urn))["asset"]["description"] == "curated"
    assert (await execute(lineage, urn=urn))["lineage"]["edges"] == [{"kind": "MANUAL"}]


INHERITED = """
query ($urn: ID!) { asset(urn: $urn) { ... on Column {
  labels { label { name } status inheritance { from path via } } } } }
"""


async def test_labels_follow_lineage_asserted_by_hand(
    execute: Execute, estate: Estate, neo4j: AsyncDriver, settings: Settings
) -> None:
    """A steward who draws a column edge by hand sees the upstream label on the downstream
    column at once, as with a view's or a job's lineage: the hop has no job behind it."""
    estate.table("src", ("id", "email"))
    estate.table("dst", ("id", "email"))
    email = estate.label(estate.column_urn("src", "email"), "Email")
    await estate.write(neo4j, settings.neo4j.database)
    src, dst = estate.column_urn("src", "email"), estate.column_urn("dst", "email")
    added = (await execute(ADD_LINEAGE, input={"upstream": src, "downstream": dst}))["addLineage"]
    assert added["errors"] == []
    labels = (await execute(INHERITED, urn=dst))["asset"]["labels"]
    assert labels == [
        {
            "label": {"name": email},
            "status": "INHERITED",
            "inheritance": {"from": src, "path": [src, dst], "via": [None]},
        }
    ]
