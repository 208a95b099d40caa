"""Gaps a mesh audit found, each against the real Neo4j, Kafka and Redis: a deprecation's sunset
is a future moment (a time without an offset is UTC, as for every DateTime argument); retiring
and granting cannot cross (the count of bound grants is part of the retiring write); a stream
port over a topic that existed reports the topic's real partitions and retention; versions
imported before ``findable`` was kept are given it once; a subscriber hearing of a granted
asset uses the grant once per subscription, not once per event."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiokafka.admin import NewTopic

from graph import access as access_graph
from graph import products as graph
from graph.driver import read, write
from live.changes import CATALOG_CHANNEL, ChangeType, catalog_change, publish_catalog_change
from mesh import contracts, streams
from mesh.backfill import backfill_findable
from tests.integration.graphql.test_subscriptions import Subscriber
from tests.integration.mesh.flow import ADVANCE, DECIDE, DOMAIN, PRODUCT, REQUEST, published
from tests.unit.mesh.odcs import contract

DEPRECATE = """
mutation($version: ID!, $sunset: DateTime) {
  advanceVersion(version: $version, step: DEPRECATE, notice: "use 2.0.0", sunset: $sunset) {
    version { status sunsetAt } errors { __typename message ... on InvalidInputError { field } }
  } }
"""
# A grant bound behind the API's back, as an approval committing meanwhile would.
BIND = """
MATCH (c:Contract {urn: $version}), (t:Team {urn: $team})
CREATE (t)-[:GRANTED {request: $request, expiresAt: datetime() + duration('P1D')}]->(c)
"""
STATUS = "MATCH (c:Contract {urn: $version}) RETURN c.status AS status, c.findable AS findable"
USAGE = """
query($id: ID!) { node(id: $id) { ... on ProductVersion {
  usage { edges { node { team reads } } } } } }
"""
CHANGES = """
subscription($filter: CatalogChangeFilter) { catalogChanges(filter: $filter) { urn
  asset { id } } }
"""


async def test_a_sunset_is_a_future_moment_and_a_time_without_offset_is_utc(
    mesh: dict[str, Any],
) -> None:
    """A past sunset was accepted; one without an offset was stored as a local time (no
    moment) and read back without its zone."""
    m = mesh
    urns = await published(m, contract({"id": {"logicalType": "string"}}))
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    refused = (await m["owner"](DEPRECATE, version=urns["version"], sunset=past))["advanceVersion"]
    assert refused["version"] is None
    assert [(e["__typename"], e["field"]) for e in refused["errors"]] == [
        ("InvalidInputError", "sunset")
    ]
    naive = (datetime.now(UTC) + timedelta(days=30)).replace(tzinfo=None, microsecond=0)
    done = await m["owner"](DEPRECATE, version=urns["version"], sunset=naive.isoformat())
    version = done["advanceVersion"]["version"]
    assert version["status"] == "DEPRECATED"
    assert datetime.fromisoformat(version["sunsetAt"]) == naive.replace(tzinfo=UTC)


async def test_retiring_counts_bound_grants_in_its_own_write(mesh: dict[str, Any]) -> None:
    """The count ran before the step: a grant bound between the two was left on a retired
    version. Bound now between the API's reads and the write, it stops the step; and an
    approval reaching a version retired meanwhile grants nothing."""
    m = mesh
    db, neo4j = m["settings"].neo4j.database, m["neo4j"]
    urns = await published(m, contract({"id": {"logicalType": "string"}}))
    ask = {"version": urns["version"], "team": urns["analysts"], "purpose": "churn model"}
    request = (await m["consumer"](REQUEST, input=ask))["requestAccess"]["request"]
    await m["owner"](ADVANCE, version=urns["version"], step="DEPRECATE", notice="use nothing")
    await write(neo4j, db, BIND, version=urns["version"], team=urns["analysts"], request="x")
    with pytest.raises(graph.Bound):
        await graph.step(neo4j, db, urns["version"], "deprecated", "retired", {})
    (row,) = await read(neo4j, db, STATUS, version=urns["version"])
    assert row["status"] == "deprecated"
    refused = await m["owner"](ADVANCE, version=urns["version"], step="RETIRE")
    assert refused["advanceVersion"]["errors"][0]["__typename"] == "WrongStateError"

    await write(neo4j, db, "MATCH ()-[g:GRANTED {request: 'x'}]->() DELETE g")
    retired = await m["owner"](ADVANCE, version=urns["version"], step="RETIRE")
    assert retired["advanceVersion"]["version"] == {"status": "RETIRED"}
    urn = request["id"]
    assert await access_graph.decide(neo4j, db, urn, True, "", f"{m['name']}-bob") is None
    bound = "MATCH (:Team)-[g:GRANTED]->(:Contract {urn: $version}) RETURN count(g) AS n"
    assert (await read(neo4j, db, bound, version=urns["version"]))[0]["n"] == 0


async def test_a_stream_port_over_an_existing_topic_reports_the_topic(
    mesh: dict[str, Any],
) -> None:
    """The port said the configured 3 partitions and 7 days of the topic it did not create."""
    m = mesh
    admin = m["served"].app.state.datawave.kafka_admin
    cfg = m["settings"].mesh
    topic = streams.topic_name(cfg, m["sales"], "clicks", "events")
    kept = "86400000"
    assert (cfg.stream_partitions, str(cfg.stream_retention_ms)) != (2, kept)
    await admin.create_topics(
        [NewTopic(topic, 2, cfg.stream_replication, topic_configs={"retention.ms": kept})]
    )
    try:
        domain = (await m["admin"](DOMAIN, input={"name": m["sales"]}))["createDomain"]
        spec = {"domain": domain["domain"]["id"], "name": "clicks", "streamPorts": ["events"]}
        made = (await m["owner"](PRODUCT, input=spec))["createDataProduct"]["product"]
        assert made["streamPorts"] == [
            {"name": "events", "topic": topic, "partitions": 2, "retentionMs": int(kept)}
        ]
        assert made["streamError"] is None
    finally:
        await admin.delete_topics([topic])


async def test_versions_imported_before_findable_are_given_it_once(
    mesh: dict[str, Any],
) -> None:
    m = mesh
    db, neo4j = m["settings"].neo4j.database, m["neo4j"]
    odcs = contract({"id": {"logicalType": "string"}})
    urns = await published(m, odcs)
    await write(neo4j, db, "MATCH (c:Contract {urn: $v}) REMOVE c.findable", v=urns["version"])
    state = m["served"].app.state.datawave
    assert await backfill_findable(state, batch=1) >= 1
    (row,) = await read(neo4j, db, STATUS, version=urns["version"])
    stored = (await graph.get_version(neo4j, db, urns["version"]))["odcs"]
    assert row["findable"] == contracts.findable(contracts.parse(stored, stored=True))
    assert await graph.unfindable(neo4j, db, 10) == []
    assert await backfill_findable(state) == 0


async def test_a_subscriber_uses_a_grant_once_not_at_every_event(mesh: dict[str, Any]) -> None:
    """Each event a consumer heard of the granted table counted reads: two (the check that
    it may hear of it, and its ``asset``)."""
    m = mesh
    urns = await published(m, contract({"id": {"logicalType": "string"}}))
    ask = {"version": urns["version"], "team": urns["analysts"], "purpose": "churn model"}
    request = (await m["consumer"](REQUEST, input=ask))["requestAccess"]["request"]
    assert (await m["second"](DECIDE, request=request["id"], approve=True))["decideAccess"]
    redis, table = m["served"].app.state.datawave.redis, m["table"]
    await redis.delete(f"mesh:usage:{urns['version']}")
    token, urns_filter = m["consumer"].token, {"urns": [table]}
    async with Subscriber(m["served"], token, CHANGES, CATALOG_CHANNEL, filter=urns_filter) as sub:
        for _ in range(3):
            await publish_catalog_change(
                redis, catalog_change(ChangeType.CHANGED, table, ["description"])
            )
            heard = (await sub.next())["catalogChanges"]
            assert heard == {"urn": table, "asset": {"id": table}}
        await asyncio.sleep(0.2)
    found = (await m["second"](USAGE, id=urns["version"]))["node"]["usage"]["edges"]
    assert [e["node"] for e in found] == [{"team": urns["analysts"], "reads": 1}]
    await redis.delete(f"mesh:usage:{urns['version']}")
