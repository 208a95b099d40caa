"""What a pipeline sent, read back through GraphQL: a run by ``node(id:)``, and the datasets no
registered source holds (an S3 path, a Kafka topic) as ``Dataset`` assets wherever lineage
returns assets, each in the caller's scope. The events come through ``POST /api/v1/lineage``
and a worker on ``datawave.lineage.v1``, as a pipeline's do."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from neo4j import AsyncDriver
from openlineage.client.event_v2 import RunState

from core.settings import IngestSettings, Settings
from core.topics import LINEAGE
from graph.datasets import dataset_urn
from graph.driver import read, write
from ingest.worker import Worker
from live.changes import CATALOG_CHANNEL
from security.auth import mint_token
from tests.factories import eventually, running
from tests.integration.cleanup import drop_sources
from tests.integration.graphql.conftest import Execute, Served, bearer, post_graphql
from tests.integration.graphql.test_subscriptions import Subscriber
from tests.integration.lineage.producers import derived, raw, run_event, table
from tests.integration.lineage.relayed import relayed
from tests.integration.lineage.test_openlineage import skip_to_end

STATE = "MATCH (r:Run {urn: $urn}) RETURN r.state AS state"
RUN = """
query ($id: ID!) {
  node(id: $id) {
    __typename id
    ... on Run {
      runId state job { id }
      inputs { totalCount edges { node { __typename id name source } } }
      outputs { edges { node { id ... on Dataset { namespace } } } }
    }
  }
}"""
DATASET = """
query ($urn: ID!) {
  asset(urn: $urn) {
    __typename id name source
    ... on Dataset {
      namespace dataSource fields { name type }
      upstream { edges { node { __typename id } } }
      downstream { edges { node { id } } }
    }
  }
  node(id: $urn) { id }
}"""
WALKS = """
query ($from: ID!, $to: ID!) {
  lineage(urn: $from, direction: DOWNSTREAM) {
    nodes { __typename id name ... on Dataset { namespace } }
    edges { from to kind via { id } }
  }
  impact(urn: $from) { assets { asset { __typename id } distance } }
  lineagePath(from: $from, to: $to) { nodes { id } edges { from to } }
}"""
JOB = """
query ($id: ID!) {
  node(id: $id) {
    ... on Job { reads { edges { node { __typename id } } } writes { edges { node { id } } } }
  }
}"""
DENIALS = """
MATCH (e:AuditEvent {actor: $actor, outcome: 'denied'})
RETURN e.action AS action, e.resource AS resource ORDER BY resource
"""


@dataclass(frozen=True)
class Pipeline:
    """A job of this test's own namespace that reads an S3 path and writes a Kafka topic."""

    name: str  # the test's ``unique``
    run_id: str

    @property
    def jobs(self) -> str:  # the job's namespace
        return f"airflow-{self.name}"

    @property
    def lake(self) -> str:  # the input's
        return f"s3://{self.name}-lake"

    @property
    def broker(self) -> str:  # the output's
        return f"kafka://{self.name}.broker:9092"

    @property
    def job(self) -> str:
        return f"urn:dw:job:{self.jobs}/export"

    @property
    def run(self) -> str:
        return f"urn:dw:run:{self.jobs}/export/{self.run_id}"

    @property
    def input(self) -> str:
        return dataset_urn(self.lake, "raw/orders")

    @property
    def output(self) -> str:
        return dataset_urn(self.broker, "orders.events")

    def events(self) -> list[bytes]:
        """Its START, and its COMPLETE with the output's schema and column lineage."""
        mapping = derived(("email", self.lake, "raw/orders", "email", "DIRECT/IDENTITY", False))
        facets = {**table("orders.events", "id", "email"), **mapping}
        return [
            raw(run_event(state, self.run_id, (self.jobs, "export"), minutes,
                          inputs=[(self.lake, "raw/orders", table("orders", "id", "email"))],
                          outputs=[(self.broker, "orders.events", facets)]))
            for state, minutes in ((RunState.START, 0), (RunState.COMPLETE, 2))
        ]  # fmt: skip


async def post(
    settings: Settings,
    ingest_cfg: IngestSettings,
    neo4j: AsyncDriver,
    api: str,
    name: str,
    bodies: list[bytes],
    run: str,
) -> None:
    """``bodies`` posted through the HTTP door and written by a worker on the lineage topic
    (from its end), until ``run`` is COMPLETE in the graph."""
    db = settings.neo4j.database
    cfg = ingest_cfg.model_copy(update={"topics": [LINEAGE]})
    await skip_to_end(settings, cfg.group_id, LINEAGE)
    token = mint_token(settings.auth, f"{name}-pipeline", ["service"])
    async with running(Worker(cfg, settings.kafka, neo4j, db)):
        async with httpx.AsyncClient(base_url=api, headers=bearer(token)) as http:
            for body in bodies:
                posted = await http.post("/api/v1/lineage", content=body)
                assert posted.status_code == 201, posted.text

        async def completed() -> bool:
            return await read(neo4j, db, STATE, urn=run) == [{"state": "COMPLETE"}]

        await eventually(completed)


@pytest.fixture
async def pipeline(
    unique: str,
    settings: Settings,
    ingest_cfg: IngestSettings,
    neo4j: AsyncDriver,
    api: str,
    served: Served,
) -> AsyncIterator[Pipeline]:
    """The pipeline's run, posted through the HTTP door and written by a worker; its jobs,
    runs, datasets and audit trail go afterwards."""
    found = Pipeline(unique, str(uuid.uuid4()))
    try:
        await post(settings, ingest_cfg, neo4j, api, unique, found.events(), found.run)
        yield found
    finally:
        await drop_sources(settings, neo4j, found.jobs, found.lake, found.broker)
        await served.app.state.datawave.audit.drain()
        query = "MATCH (e:AuditEvent) WHERE e.actor STARTS WITH $name DELETE e"
        await write(neo4j, settings.neo4j.database, query, name=unique)


def _ids(connection: dict[str, Any]) -> list[str]:
    return [e["node"]["id"] for e in connection["edges"]]


async def test_a_run_and_its_datasets_read_back_wherever_lineage_returns_assets(
    pipeline: Pipeline, execute: Execute
) -> None:
    """The run by its URN with what it read and wrote; each dataset as an asset (its
    namespace for a source, its schema facet's fields); both through lineage, impact, a
    path and the job's reads and writes."""
    p = pipeline
    run = (await execute(RUN, id=p.run))["node"]
    assert run["__typename"] == "Run" and run["id"] == p.run
    assert (run["runId"], run["state"], run["job"]) == (p.run_id, "COMPLETE", {"id": p.job})
    assert run["inputs"] == {
        "totalCount": 1,
        "edges": [{"node": {"__typename": "Dataset", "id": p.input, "name": "raw/orders",
                            "source": p.lake}}],
    }  # fmt: skip
    assert run["outputs"]["edges"] == [{"node": {"id": p.output, "namespace": p.broker}}]

    found = await execute(DATASET, urn=p.output)
    assert found["asset"] == {
        "__typename": "Dataset", "id": p.output, "name": "orders.events", "source": p.broker,
        "namespace": p.broker, "dataSource": None,
        "fields": [{"name": "id", "type": "text"}, {"name": "email", "type": "text"}],
        "upstream": {"edges": [{"node": {"__typename": "Dataset", "id": p.input}}]},
        "downstream": {"edges": []},
    }  # fmt: skip
    assert found["node"] == {"id": p.output}

    found = await execute(WALKS, **{"from": p.input, "to": p.output})
    assert sorted(found["lineage"]["nodes"], key=lambda n: n["id"] != p.input) == [
        {"__typename": "Dataset", "id": p.input, "name": "raw/orders", "namespace": p.lake},
        {"__typename": "Dataset", "id": p.output, "name": "orders.events", "namespace": p.broker},
    ]
    assert found["lineage"]["edges"] == [
        {"from": p.input, "to": p.output, "kind": "OPENLINEAGE", "via": {"id": p.job}}
    ]
    assert found["impact"]["assets"] == [
        {"asset": {"__typename": "Dataset", "id": p.output}, "distance": 1}
    ]
    assert found["lineagePath"] == {
        "nodes": [{"id": p.input}, {"id": p.output}],
        "edges": [{"from": p.input, "to": p.output}],
    }
    job = (await execute(JOB, id=p.job))["node"]
    assert job["reads"]["edges"] == [{"node": {"__typename": "Dataset", "id": p.input}}]
    assert _ids(job["writes"]) == [p.output]


async def test_a_caller_out_of_scope_sees_neither_run_nor_dataset(
    pipeline: Pipeline, api: str, settings: Settings, neo4j: AsyncDriver, served: Served
) -> None:
    """Runs are seen as their job (lineage:read in its namespace), datasets as assets of their
    namespace: out of scope reads exactly like missing, and the refusals are audited."""
    p, auth = pipeline, settings.auth
    outsider = mint_token(auth, f"{p.name}-outsider", ["viewer"], sources=["elsewhere"])
    for urn, query in ((p.run, RUN), (p.input, RUN)):
        assert await post_graphql(api, outsider, query, id=urn) == {"data": {"node": None}}
    assert await post_graphql(api, outsider, DATASET, urn=p.output) == {
        "data": {"asset": None, "node": None}
    }
    missing = await post_graphql(api, outsider, WALKS, **{"from": p.input, "to": p.output})
    assert missing["data"] == {"lineage": None, "impact": None, "lineagePath": None}
    assert {e["extensions"]["code"] for e in missing["errors"]} == {"NOT_FOUND"}
    assert {e["extensions"]["urn"] for e in missing["errors"]} == {p.input}
    await served.app.state.datawave.audit.drain()
    denied = await read(neo4j, settings.neo4j.database, DENIALS, actor=f"{p.name}-outsider")
    assert {(d["action"], d["resource"]) for d in denied} == {
        ("lineage:read", p.run), ("asset:read", p.input), ("asset:read", p.output),
    }  # fmt: skip

    # Scoped to the job's namespace: the run and its job, not the datasets of other namespaces.
    jobs_only = mint_token(auth, f"{p.name}-jobs", ["viewer"], sources=[p.jobs])
    run = (await post_graphql(api, jobs_only, RUN, id=p.run))["data"]["node"]
    assert (run["id"], run["job"]) == (p.run, {"id": p.job})
    assert run["inputs"] == {"totalCount": 0, "edges": []} and run["outputs"]["edges"] == []


SEEN = """
query ($output: ID!, $input: ID!) {
  asset(urn: $output) {
    id ... on Dataset { fields { name } upstream { edges { node { id } } }
                        downstream { edges { node { id } } } }
  }
  lineage(urn: $output, direction: UPSTREAM) { nodes { id } }
  impact(urn: $input) { assets { asset { id } distance } }
}"""
HEARD = """
subscription ($filter: CatalogChangeFilter) {
  catalogChanges(filter: $filter) {
    type urn kind source fields
    asset { ... on Dataset { upstream { edges { node { id } } } } }
  }
}"""


async def test_a_pipeline_of_datasets_only_is_seen_at_once(
    pipeline: Pipeline,
    execute: Execute,
    served: Served,
    token: str,
    settings: Settings,
    ingest_cfg: IngestSettings,
    neo4j: AsyncDriver,
    api: str,
) -> None:
    """A batch that writes only datasets of their own (S3 paths to Kafka topics) announces
    them: reads cached before it (the dataset, its lineage, the impact of its input) show the
    new upstream, schema and downstream at once, not after ``DATAWAVE_CACHE_TTL_S``, and a
    ``catalogChanges`` subscriber of the topic's namespace hears the dataset change."""
    p = pipeline
    refunds, audit = dataset_urn(p.lake, "raw/refunds"), dataset_urn(p.broker, "orders.audit")
    before = await execute(SEEN, output=p.output, input=p.input)  # read, and cached
    assert before == await execute(SEEN, output=p.output, input=p.input)
    assert _ids(before["asset"]["upstream"]) == [p.input]
    assert before["impact"]["assets"] == [{"asset": {"id": p.output}, "distance": 1}]

    # Another job enriches the topic with refunds and forwards it to an audit topic.
    run_id = str(uuid.uuid4())
    enrich = [
        raw(run_event(RunState.COMPLETE, run_id, (p.jobs, "enrich"), 5,
                      inputs=[(p.lake, "raw/refunds", table("refunds", "id")),
                              (p.broker, "orders.events", {})],
                      outputs=[(p.broker, "orders.events", table("e", "id", "email", "refund")),
                               (p.broker, "orders.audit", table("audit", "id"))]))
    ]  # fmt: skip
    heard = {"source": p.broker, "kinds": ["DATASET"], "urns": [p.output]}
    async with (
        relayed(served, settings, ingest_cfg, p.name),
        Subscriber(served, token, HEARD, CATALOG_CHANNEL, filter=heard) as sub,
    ):
        run = f"urn:dw:run:{p.jobs}/enrich/{run_id}"
        await post(settings, ingest_cfg, neo4j, api, p.name, enrich, run)
        change = (await sub.next())["catalogChanges"]
    assert {k: change[k] for k in ("type", "urn", "kind", "source")} == {
        "type": "CHANGED", "urn": p.output, "kind": "DATASET", "source": p.broker
    }  # fmt: skip
    assert change["fields"] == ["lineage", "fields"]
    assert sorted(_ids(change["asset"]["upstream"])) == sorted([p.input, refunds])

    def shown(found: dict[str, Any]) -> tuple[Any, ...]:
        asset = found["asset"]
        return (
            [f["name"] for f in asset["fields"]], sorted(_ids(asset["upstream"])),
            _ids(asset["downstream"]), sorted(n["id"] for n in found["lineage"]["nodes"]),
            sorted((a["asset"]["id"], a["distance"]) for a in found["impact"]["assets"]),
        )  # fmt: skip

    now = (
        ["id", "email", "refund"], sorted([p.input, refunds]), [audit],
        sorted([p.output, p.input, refunds]), [(audit, 2), (p.output, 1)],
    )  # fmt: skip

    async def seen() -> bool:  # the relay invalidates as it broadcasts: well within a TTL
        return shown(await execute(SEEN, output=p.output, input=p.input)) == now

    await eventually(seen, timeout_s=10)
