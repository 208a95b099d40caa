"""Lineage queries: subgraphs by direction, depth and level, impact, paths, schema diffs."""

from __future__ import annotations

import pytest
from gql.transport.exceptions import TransportQueryError
from neo4j import AsyncDriver

from core.settings import Settings
from graph.driver import write
from tests.integration.estate import Estate
from tests.integration.graphql.conftest import Execute

LINEAGE = """
query ($urn: ID!, $direction: LineageDirection!, $depth: Int!, $level: LineageLevel!) {
  lineage(urn: $urn, direction: $direction, depth: $depth, level: $level) {
    truncated
    nodes { __typename id name }
    edges { from to kind via { name } }
  }
}
"""


@pytest.fixture
async def chain(estate: Estate, neo4j: AsyncDriver, settings: Settings) -> Estate:
    """raw -> clean -> mart -> dashboard, plus side -> mart; emails flow column by column."""
    raw, clean, mart, dash, side = (
        estate.table(t, ("id", "email")) for t in ("raw", "clean", "mart", "dashboard", "side")
    )
    for up, down in ((raw, clean), (clean, mart), (mart, dash), (side, mart)):
        estate.feeds(up, down)
    for up, down in (("raw", "clean"), ("clean", "mart")):
        estate.feeds(estate.column_urn(up, "email"), estate.column_urn(down, "email"))
    estate.job(f"urn:dw:job:{estate.name}/mart", "mart_job", mart)
    estate.label(estate.column_urn("mart", "email"), "Email")
    estate.owner(mart, "analytics")
    estate.owner(dash, "bi")
    estate.version(raw, 1, [{"name": "id", "dataType": "int", "nullable": False, "ordinal": 1}])
    estate.version(
        raw,
        2,
        [
            {"name": "id", "dataType": "bigint", "nullable": False, "ordinal": 1},
            {"name": "email", "dataType": "varchar", "nullable": True, "ordinal": 2},
        ],
    )
    await estate.write(neo4j, settings.neo4j.database)
    return estate


def names(graph: dict) -> set[str]:
    return {n["name"] for n in graph["nodes"]}


def hops(graph: dict) -> set[tuple[str, str]]:
    short = {n["id"]: n["name"] for n in graph["nodes"]}
    return {(short[e["from"]], short[e["to"]]) for e in graph["edges"]}


async def test_table_lineage_by_direction_and_depth(execute: Execute, chain: Estate) -> None:
    async def lineage(direction: str, depth: int) -> dict:
        return (
            await execute(
                LINEAGE,
                urn=chain.table_urn("clean"),
                direction=direction,
                depth=depth,
                level="TABLE",
            )
        )["lineage"]

    assert names(await lineage("DOWNSTREAM", 1)) == {"clean", "mart"}
    assert names(await lineage("DOWNSTREAM", 2)) == {"clean", "mart", "dashboard"}
    assert names(await lineage("UPSTREAM", 5)) == {"clean", "raw"}
    both = await lineage("BOTH", 1)
    assert names(both) == {"raw", "clean", "mart"}
    assert hops(both) == {("raw", "clean"), ("clean", "mart")}
    assert hops(await lineage("BOTH", 10)) == {
        ("raw", "clean"),
        ("clean", "mart"),
        ("mart", "dashboard"),
    }, "side feeds mart but is neither upstream nor downstream of clean"
    edge = next(e for e in both["edges"] if e["to"] == chain.table_urn("mart"))
    assert (edge["kind"], edge["via"], both["truncated"]) == ("VIEW", {"name": "mart_job"}, False)


async def test_column_level_lineage(execute: Execute, chain: Estate) -> None:
    graph = (
        await execute(
            LINEAGE,
            urn=chain.column_urn("raw", "email"),
            direction="DOWNSTREAM",
            depth=3,
            level="COLUMN",
        )
    )["lineage"]
    ids = {n["id"] for n in graph["nodes"]}
    assert ids == {chain.column_urn(t, "email") for t in ("raw", "clean", "mart")}
    assert {n["__typename"] for n in graph["nodes"]} == {"Column"}
    assert len(graph["edges"]) == 2


async def test_depth_out_of_range_and_unknown_asset(execute: Execute, chain: Estate) -> None:
    urn = chain.table_urn("clean")
    for depth in (0, 11):
        with pytest.raises(TransportQueryError, match="depth must be between 1 and 10"):
            await execute(LINEAGE, urn=urn, direction="BOTH", depth=depth, level="TABLE")
    missing = chain.table_urn("missing")
    with pytest.raises(TransportQueryError) as unknown:  # issue 12 (6): was a silent null
        await execute(LINEAGE, urn=missing, direction="BOTH", depth=2, level="TABLE")
    assert unknown.value.errors[0]["extensions"] == {"code": "NOT_FOUND", "urn": missing}


async def test_impact_lists_downstream_assets_with_owners_and_labels(
    execute: Execute, chain: Estate
) -> None:
    query = """
    query ($urn: ID!) {
      impact(urn: $urn) {
        truncated
        owners { name }
        assets { distance asset { id } owners { name } labels { name } }
      }
    }
    """
    impact = (await execute(query, urn=chain.table_urn("raw")))["impact"]
    found = {
        a["asset"]["id"]: (
            a["distance"],
            [o["name"] for o in a["owners"]],
            [lab["name"] for lab in a["labels"]],
        )
        for a in impact["assets"]
    }
    analytics, bi, email = f"{chain.name}-analytics", f"{chain.name}-bi", f"{chain.name}.Email"
    assert found == {
        chain.table_urn("clean"): (1, [], []),
        chain.column_urn("clean", "email"): (1, [], []),
        chain.table_urn("mart"): (2, [analytics], [email]),
        chain.column_urn("mart", "email"): (2, [analytics], [email]),
        chain.table_urn("dashboard"): (3, [bi], []),
    }
    assert [o["name"] for o in impact["owners"]] == [analytics, bi]
    assert impact["truncated"] is False
    with pytest.raises(TransportQueryError) as missing:  # issue 12 (6): was a silent null
        await execute(query, urn=chain.table_urn("missing"))
    assert missing.value.errors[0]["extensions"]["code"] == "NOT_FOUND"


async def test_shortest_path_follows_the_flow(execute: Execute, chain: Estate) -> None:
    query = """
    query ($from: ID!, $to: ID!) {
      lineagePath(from: $from, to: $to) { nodes { name } edges { from to } }
    }
    """
    path = await execute(
        query, **{"from": chain.table_urn("raw"), "to": chain.table_urn("dashboard")}
    )
    assert [n["name"] for n in path["lineagePath"]["nodes"]] == [
        "raw",
        "clean",
        "mart",
        "dashboard",
    ]
    assert len(path["lineagePath"]["edges"]) == 3
    back = await execute(
        query, **{"from": chain.table_urn("dashboard"), "to": chain.table_urn("raw")}
    )
    assert back["lineagePath"] is None


async def test_schema_diff_between_versions(execute: Execute, chain: Estate) -> None:
    query = """
    query ($urn: ID!, $from: Int!, $to: Int!) {
      schemaDiff(urn: $urn, fromVersion: $from, toVersion: $to) {
        fromVersion toVersion
        added { name dataType }
        removed { name }
        changed { name before { dataType } after { dataType } }
      }
    }
    """
    urn = chain.table_urn("raw")
    diff = (await execute(query, urn=urn, **{"from": 1, "to": 2}))["schemaDiff"]
    assert diff == {
        "fromVersion": 1,
        "toVersion": 2,
        "added": [{"name": "email", "dataType": "varchar"}],
        "removed": [],
        "changed": [{"name": "id", "before": {"dataType": "int"}, "after": {"dataType": "bigint"}}],
    }
    back = (await execute(query, urn=urn, **{"from": 2, "to": 1}))["schemaDiff"]
    assert (back["added"], back["removed"]) == ([], [{"name": "email"}])
    with pytest.raises(TransportQueryError) as missing:  # issue 12 (6): was a silent null
        await execute(query, urn=urn, **{"from": 1, "to": 9})
    assert missing.value.errors[0]["extensions"] == {"code": "NOT_FOUND", "urn": urn}
    assert "no version 1 or 9" in missing.value.errors[0]["message"]


@pytest.fixture
async def with_removed(estate: Estate, neo4j: AsyncDriver, settings: Settings) -> Estate:
    """raw -> live, raw -> old -> report, where the view ``old`` was dropped (removed); the
    column raw.id feeds live.id and old.id."""
    raw, live, report = (estate.table(t, ("id",)) for t in ("raw", "live", "report"))
    old = estate.table("old", ("id",), kind="view", removed=True)
    for up, down in ((raw, live), (raw, old), (old, report)):
        estate.feeds(up, down)
    for down in ("live", "old"):
        estate.feeds(estate.column_urn("raw", "id"), estate.column_urn(down, "id"))
    await estate.write(neo4j, settings.neo4j.database)
    return estate


async def test_removed_assets_are_left_out_of_lineage_unless_asked_for(
    execute: Execute, with_removed: Estate
) -> None:
    query = """
    query ($urn: ID!, $column: ID!, $all: Boolean!) {
      lineage(urn: $urn, direction: DOWNSTREAM, depth: 3, includeRemoved: $all) {
        nodes { name }
      }
      columns: lineage(urn: $column, direction: DOWNSTREAM, level: COLUMN, includeRemoved: $all) {
        nodes { id }
      }
      impact(urn: $urn, includeRemoved: $all) { assets { asset { name } } }
      asset(urn: $urn) {
        ... on Table { downstream(includeRemoved: $all) { edges { node { name } } } }
      }
      column: asset(urn: $column) {
        ... on Column { downstream(includeRemoved: $all) { edges { node { table { name } } } } }
      }
    }
    """
    estate = with_removed
    urns = {"urn": estate.table_urn("raw"), "column": estate.column_urn("raw", "id")}

    async def seen(include_removed: bool) -> list[set[str]]:
        found = await execute(query, **urns, all=include_removed)
        return [
            names(found["lineage"]),
            {n["id"].rsplit("/", 2)[1] for n in found["columns"]["nodes"]},
            {a["asset"]["name"] for a in found["impact"]["assets"]},
            {t["node"]["name"] for t in found["asset"]["downstream"]["edges"]},
            {c["node"]["table"]["name"] for c in found["column"]["downstream"]["edges"]},
        ]

    assert await seen(False) == [
        {"raw", "live"}, {"raw", "live"}, {"live", "id"}, {"live"}, {"live"},
    ], "nothing reached only through the dropped view either"  # fmt: skip
    assert await seen(True) == [
        {"raw", "live", "old", "report"},
        {"raw", "live", "old"},
        {"live", "id", "old", "report"},
        {"live", "old"},
        {"live", "old"},
    ]


async def test_a_removed_asset_a_live_view_reads_is_its_unresolved_upstream(
    execute: Execute, with_removed: Estate
) -> None:
    """report still reads the dropped view old: that edge is current, flagged, and the walk
    stops there; what fed old is only seen with includeRemoved."""
    query = """
    query ($urn: ID!, $all: Boolean!) {
      lineage(urn: $urn, direction: UPSTREAM, depth: 5, includeRemoved: $all) {
        nodes { name } edges { from to unresolved }
      }
    }
    """
    estate = with_removed
    found = (await execute(query, urn=estate.table_urn("report"), all=False))["lineage"]
    assert names(found) == {"report", "old"}
    assert found["edges"] == [
        {"from": estate.table_urn("old"), "to": estate.table_urn("report"), "unresolved": True}
    ]
    found = (await execute(query, urn=estate.table_urn("report"), all=True))["lineage"]
    assert names(found) == {"report", "old", "raw"}
    assert {(e["from"].rsplit("/", 1)[1], e["unresolved"]) for e in found["edges"]} == {
        ("old", True), ("raw", False),
    }  # fmt: skip


PLACEHOLDER = """
MATCH (v:Asset {urn: $view})
MERGE (p:Asset {urn: $ghost})
SET p:Table:Unresolved, p.name = 'ghost', p.source = $source
MERGE (p)-[:FEEDS {via: $job}]->(v)
"""


async def test_a_view_over_a_missing_table_shows_the_unresolved_edge_not_an_asset(
    execute: Execute, estate: Estate, neo4j: AsyncDriver, settings: Settings
) -> None:
    """What ingest makes of a view over a dropped table (tests/integration/ingest/test_drops.py):
    the reference is an :Unresolved placeholder, flagged on lineage and never counted."""
    view = estate.table("over_ghost", ("id",), kind="view")
    estate.table("real", ("id",))
    estate.feeds(estate.table_urn("real"), view)
    await estate.write(neo4j, settings.neo4j.database)
    ghost = estate.table_urn("ghost")
    await write(
        neo4j, settings.neo4j.database, PLACEHOLDER,
        view=view, ghost=ghost, source=estate.name, job=f"urn:dw:job:{estate.name}/over_ghost",
    )  # fmt: skip
    query = """
    query ($urn: ID!, $source: String!) {
      lineage(urn: $urn, direction: UPSTREAM) { nodes { id } edges { from to unresolved } }
      assets(filter: {source: $source}) { totalCount edges { node { name } } }
    }
    """
    found = await execute(query, urn=view, source=estate.name)
    edges = {e["from"]: e["unresolved"] for e in found["lineage"]["edges"]}
    assert edges == {ghost: True, estate.table_urn("real"): False}
    assets = [e["node"]["name"] for e in found["assets"]["edges"]]
    assert "ghost" not in assets and found["assets"]["totalCount"] == len(assets) == 6
