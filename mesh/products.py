"""Data products: creation with ports, versions with ODCS contracts, lifecycle, drift.

Each function is one workflow step: it checks everything first, then writes in one transaction
(graph/products.py) and sends the step on ``datawave.mesh.v1`` under the product's correlation
id. A stream port's topic is created on Kafka after the product is recorded; if Kafka refuses,
the product stays a draft with the reason (``streamError``) and no port.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from open_data_contract_standard.model import OpenDataContractStandard

from core.urns import Urn, contract_urn, product_urn
from graph import products as graph
from live.state import AppState
from mesh import contracts, lifecycle, policy, probes, quality, search, streams
from mesh.domains import check_name, get_team, open_domain
from mesh.errors import Duplicate, MeshError, NonCompliant, NotFound, StreamFailed, WrongState
from mesh.events import emit, emit_request
from mesh.lifecycle import Status, Step

MAX_PORTS = 50
MAX_TAGS = 50


@dataclass(frozen=True)
class Sla:
    freshness: str | None = None  # e.g. "1d", "4h"
    availability: float | None = None  # percent
    support: str | None = None  # a contact: channel, e-mail or URL


@dataclass(frozen=True)
class ProductSpec:
    domain: str  # URN
    name: str
    description: str = ""
    team: str | None = None  # owner team URN
    tags: list[str] = field(default_factory=list)
    sla: Sla = Sla()
    outputs: list[dict[str, str]] = field(default_factory=list)  # {name, asset}
    streams: list[str] = field(default_factory=list)  # stream port names
    inputs: list[str] = field(default_factory=list)  # asset URNs


def _db(state: AppState) -> str:
    return state.settings.neo4j.database


async def get_product(state: AppState, urn: str) -> dict[str, Any]:
    found = await graph.details(state.neo4j, _db(state), [urn])
    if urn not in found:
        raise NotFound(f"no data product {urn}", urn)
    return found[urn]


def _check_ports(spec: ProductSpec) -> None:
    names = [p["name"] for p in spec.outputs] + spec.streams
    if len(names) > MAX_PORTS:
        raise MeshError(f"at most {MAX_PORTS} output ports", "outputs")
    for name in names:
        check_name(name, "outputs")
    if len(set(names)) != len(names):
        raise MeshError("port names are unique within a product", "outputs")
    assets = [p["asset"] for p in spec.outputs]
    if len(set(assets)) != len(assets):  # a second port of an asset replaced the first
        raise MeshError("an asset is exposed by one output port", "outputs")
    if len(spec.tags) > MAX_TAGS or any(not 0 < len(t) <= 100 for t in spec.tags):
        raise MeshError(f"at most {MAX_TAGS} tags of 1 to 100 characters", "tags")
    if spec.sla.availability is not None and not 0 <= spec.sla.availability <= 100:
        raise MeshError("availability is a percentage", "sla")


async def create_product(
    state: AppState, actor: str, spec: ProductSpec, gate: policy.Gate
) -> dict[str, Any]:
    """Open the product's workspace, if the rules in force allow it (``gate``)."""
    check_name(spec.name)
    _check_ports(spec)
    domain = await open_domain(state, spec.domain)
    if spec.team is not None:
        team = await get_team(state, spec.team)
        if team.get("domain") != domain["name"]:
            raise MeshError(f"team {team['name']} is not a team of {domain['name']}", "team")
    urn = product_urn(domain["name"], spec.name)
    if (await graph.details(state.neo4j, _db(state), [urn])).get(urn):
        raise Duplicate(f"data product {spec.name} exists in {domain['name']}", "name")
    await gate(policy.WORKSPACE, _workspace(spec), [])
    correlation = uuid.uuid4().hex
    props = {
        "name": spec.name,
        "description": spec.description,
        "tags": sorted(set(spec.tags)),
        "slaFreshness": spec.sla.freshness,
        "slaAvailability": spec.sla.availability,
        "supportContact": spec.sla.support,
        "createdBy": actor,
        "correlationId": correlation,
    }
    await graph.create_product(
        state.neo4j, _db(state), urn, spec.domain, spec.team, props, spec.outputs, spec.inputs
    )
    await emit_step(state, urn, "product.created", actor)
    await _open_streams(state, actor, urn, domain["name"], spec)
    await search.index_products(state, [urn])
    return await get_product(state, urn)


def _workspace(spec: ProductSpec) -> dict[str, Any]:
    """The workspace request as the policy engine sees it (GraphQL argument names)."""
    return {
        "domain": spec.domain, "name": spec.name, "description": spec.description,
        "ownerTeam": spec.team, "tags": spec.tags,
        "sla": {"freshness": spec.sla.freshness, "availability": spec.sla.availability,
                "supportContact": spec.sla.support},
        "outputPorts": spec.outputs, "streamPorts": spec.streams, "inputPorts": spec.inputs,
    }  # fmt: skip


async def _open_streams(
    state: AppState, actor: str, urn: str, domain: str, spec: ProductSpec
) -> None:
    cfg = state.settings.mesh
    ports, error = [], None
    for name in spec.streams:
        try:
            topic = streams.topic_name(cfg, domain, spec.name, name)
            shape = (cfg.stream_partitions, cfg.stream_retention_ms)
            if not await streams.create_topic(state.kafka_admin, cfg, topic):  # reused as is
                shape = await streams.describe_topic(state.kafka_admin, topic)
        except StreamFailed as err:
            error = err.message
            break
        ports.append({
            "key": f"{urn}#{name}", "name": name, "topic": topic,
            "partitions": shape[0], "retentionMs": shape[1],
        })  # fmt: skip
    if spec.streams:
        await graph.record_streams(state.neo4j, _db(state), urn, ports, error)
        action = "stream.failed" if error else "streams.created"
        await emit_step(state, urn, action, actor, topics=[p["topic"] for p in ports], error=error)


async def emit_step(
    state: AppState, product: str, action: str, actor: str, version: str | None = None,
    **detail: Any,
) -> None:  # fmt: skip
    """Send a step of ``product``'s workflow on datawave.mesh.v1 under its correlation id."""
    record = (await graph.details(state.neo4j, _db(state), [product])).get(product, {})
    correlation = (record.get("props") or {}).get("correlationId") or product
    domain = str(Urn.of("domain", Urn.parse(product).path[0]))
    await emit(
        state, source=domain, subject=version or product, correlation=correlation,
        action=action, actor=actor, product=product, version=version, **detail,
    )  # fmt: skip


# --- versions and contracts ---------------------------------------------------------------------


async def get_version(state: AppState, urn: str) -> dict[str, Any]:
    record = await graph.get_version(state.neo4j, _db(state), urn)
    if record is None:
        raise NotFound(f"no product version {urn}", urn)
    return record


async def import_contract(
    state: AppState, actor: str, product: str, version: str, odcs: str, gate: policy.Gate
) -> dict[str, Any]:
    """Set the ODCS contract of a version: a new one (higher than all others) or a draft's,
    once the rules in force accept the contract (``gate``). The document's own ``version``
    becomes the one it is imported as: a copy of 1.0.0's YAML imported as 2.0.0 would
    otherwise tell whoever downloads it that it is 1.0.0."""
    contract = contracts.parse(odcs)
    contract.version = lifecycle.Version(version).text
    probes.check_rules(quality.sql_rules(contract))
    found = await get_product(state, product)
    parsed = Urn.parse(product)
    urn = contract_urn(parsed.path[0], parsed.path[1], lifecycle.Version(version).text)
    existing = {v["version"]: v for v in found["versions"]}
    if version in existing:
        if existing[version]["status"] != Status.DRAFT:
            status = existing[version]["status"]
            raise WrongState(f"version {version} is {status}: only a draft's contract changes",
                             "version")  # fmt: skip
    else:
        lifecycle.check_new_version(version, list(existing))
    await _ask(state, gate, policy.CONTRACT, found, urn, contract)
    await graph.save_version(
        state.neo4j, _db(state), product, urn, version, contracts.export(contract), actor,
        contracts.findable(contract),
    )  # fmt: skip
    await emit_step(state, product, "contract.imported", actor, urn)
    await search.index_products(state, [product])
    await check_drift(state, actor, urn)
    return await get_version(state, urn)


def contract_of(record: dict[str, Any]) -> OpenDataContractStandard:
    """The contract a version stored, as it was accepted."""
    return contracts.parse(record["odcs"], stored=True)


def discovered(rows: list[dict[str, Any]]) -> list[contracts.Discovered]:
    return [
        contracts.Discovered(
            urn=r["urn"],
            name=r["name"],
            columns={c["name"]: c for c in r["columns"]},
            row_count=r.get("rowCount"),
            last_seen_at=datetime.fromisoformat(r["lastSeenAt"]) if r.get("lastSeenAt") else None,
        )
        for r in rows
    ]


async def check_drift(state: AppState, actor: str, urn: str) -> dict[str, Any]:
    """Compare the version's contract with what the scans found behind its output ports, and
    record the violations (an empty list: none)."""
    record = await get_version(state, urn)
    tables = await graph.port_tables(state.neo4j, _db(state), record["product"])
    found = [message for _, message in contracts.drift(contract_of(record), discovered(tables))]
    before = record.get("drift")
    saved = await graph.record_drift(state.neo4j, _db(state), urn, found)
    if found != before and (found or before):
        action = "contract.drifted" if found else "contract.aligned"
        await emit_step(state, record["product"], action, actor, urn, violations=found)
    return {**saved, "product": record["product"], "domain": record["domain"]}


async def recheck_tables(state: AppState, tables: list[str] | None) -> list[str]:
    """Re-check the drift of every live version exposing these tables (a scan changed them),
    or of every live version (None: changes were missed)."""
    urns = await graph.versions_exposing(state.neo4j, _db(state), tables)
    for urn in urns:
        await check_drift(state, "datawave", urn)
    return urns


def _released(product: dict[str, Any]) -> list[dict[str, Any]]:
    """The product's published and deprecated versions."""
    live = (Status.PUBLISHED, Status.DEPRECATED)
    return [v for v in product["versions"] if v["status"] in live]


async def compatibility(state: AppState, urn: str) -> tuple[str | None, list[str]]:
    """The version this one must stay compatible with (the highest published or deprecated
    version below it) and what it breaks of it."""
    record = await get_version(state, urn)
    product = await get_product(state, record["product"])
    mine = lifecycle.Version(record["version"])
    released = [v for v in _released(product) if lifecycle.Version(v["version"]) < mine]
    if not released:
        return None, []
    baseline = max(released, key=lambda v: lifecycle.Version(v["version"]))
    return baseline["version"], contracts.breaking_changes(
        contract_of(baseline), contract_of(record)
    )


def _check_successor(record: dict[str, Any], product: dict[str, Any]) -> None:
    """Publishing below a released version of the same major (drafts published out of order):
    that version must not break this one either, or a minor release would break its major."""
    mine = lifecycle.Version(record["version"])
    above = [
        v for v in _released(product)
        if (later := lifecycle.Version(v["version"])) > mine and later.major == mine.major
    ]  # fmt: skip
    if not above:
        return
    successor = min(above, key=lambda v: lifecycle.Version(v["version"]))
    lifecycle.check_publish(
        successor["version"], None, record["version"],
        contracts.breaking_changes(contract_of(record), contract_of(successor)),
    )  # fmt: skip


async def _ask(
    state: AppState, gate: policy.Gate, action: str, product: dict[str, Any], version: str,
    contract: OpenDataContractStandard,
) -> None:  # fmt: skip
    """Show the policy engine a contract of ``product`` with the labels the product exposes."""
    urn = product["props"]["urn"]
    args = {"product": urn, "version": version,
            "contract": policy.contract_facts(contract, product.get("team"))}  # fmt: skip
    await gate(action, args, await graph.exposed_labels(state.neo4j, _db(state), urn))


async def advance(
    state: AppState, actor: str, urn: str, step: Step, gate: policy.Gate,
    notice: str | None = None, sunset: datetime | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Publish (if the rules in force allow it: ``gate``), deprecate or retire a version (not
    while live grants bind it: counted in the step's own transaction, so a grant approved
    meanwhile cannot be left on a retired version). Publishing a new major version and
    deprecating tell the consumers concerned (``notice``, recorded on their grants,
    ``consumer.notified`` under each request's correlation id)."""
    record = await get_version(state, urn)
    current = Status(record["status"])
    end = lifecycle.after(step, current)
    now = datetime.now(UTC)
    stamps: dict[str, Any] = {f"{end}By": actor, f"{end}At": now}
    if step is Step.PUBLISH:
        baseline, breaking = await compatibility(state, urn)
        lifecycle.check_publish(record["version"], record.get("quarantine"), baseline, breaking)
        await _compliant(state, record)
        product = await get_product(state, record["product"])
        _check_successor(record, product)
        await _ask(state, gate, policy.PUBLISH, product, urn, contract_of(record))
    elif step is Step.DEPRECATE:
        if not notice:
            raise MeshError("a deprecation says why and what to use instead", "notice")
        lifecycle.check_sunset(sunset, now)
        stamps |= {"deprecationNotice": notice, "sunsetAt": sunset}
    told = lifecycle.notice_of(step, record["version"], notice)
    try:
        done = await graph.step(state.neo4j, _db(state), urn, current, end, stamps, told)
    except graph.Bound as bound:
        lifecycle.check_retire(record["version"], bound.count)
        raise
    if done is None:
        raise WrongState(f"version {record['version']} changed meanwhile; read it again", "version")
    saved, requests = done
    await emit_step(state, record["product"], f"version.{end}", actor, urn, notice=notice)
    await search.index_products(state, [record["product"]])
    for request in requests:
        await emit_request(state, request, "consumer.notified", actor, urn, notice=told)
    return {**saved, "product": record["product"], "domain": record["domain"]}


# Findings of these severities block publishing (governance/templates.Severity values).
BLOCKING = ("high", "critical")


async def _compliant(state: AppState, record: dict[str, Any]) -> None:
    """The final compliance check: the governance engine's open high and critical findings on
    the columns the product exposes (kept current by its evaluations and watcher) block it."""
    found = await graph.blocking_findings(state.neo4j, _db(state), record["product"], BLOCKING)
    if found:
        first = found[0].get("message") or found[0]["urn"]
        raise NonCompliant(
            f"{len(found)} open high or critical finding(s) on what it exposes, e.g. {first}",
            [f["urn"] for f in found],
        )
