"""Quality gates of product versions: the run, its alerts, quarantine and remediation.

A run measures the contract's SQL rules on the source (mesh/probes.py) and evaluates every
rule (mesh/quality.py). A failing rule quarantines the version and, if none is open, opens a
remediation record; failing warning rules only raise an alert (``gate.warned``) and show as the
version's ``health``. The passing run that releases the quarantine resolves the remediation
and is recorded on it as the clearing run. All of it is one transaction (graph/gates.py), then
the steps go out on datawave.mesh.v1 under the product's correlation id.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from core.urns import Urn
from graph import gates as graph
from graph import products as product_graph
from live.state import AppState
from mesh import probes, quality
from mesh.errors import MeshError, NotFound, WrongState
from mesh.lifecycle import Status
from mesh.products import contract_of, discovered, emit_step, get_version

MAX_NOTE = 4000
SCANNER = "datawave"  # the actor of gates a scan re-runs


def _db(state: AppState) -> str:
    return state.settings.neo4j.database


def _urns(version: str, at: datetime) -> tuple[str, str]:
    """The run's and a remediation's URNs: the version's path and the time (URN order is time
    order)."""
    stamp = at.strftime("%Y%m%dT%H%M%S%fZ")
    path = Urn.parse(version).path
    return str(Urn.of("qualityrun", *path, stamp)), str(Urn.of("remediation", *path, stamp))


async def run_gate(state: AppState, actor: str, urn: str) -> dict[str, Any]:
    """Evaluate the contract's quality rules: a failure quarantines the version and opens a
    remediation, warnings alert, a pass releases the version and resolves its remediation."""
    record = await get_version(state, urn)
    if record["status"] == Status.RETIRED:
        raise WrongState(f"version {record['version']} is retired", "version")
    contract = contract_of(record)
    tables = discovered(await product_graph.port_tables(state.neo4j, _db(state), record["product"]))
    measured = await probes.measure(state, quality.sql_rules(contract), tables)
    outcomes = quality.evaluate(contract, tables, measured=measured)
    reason, alert = quality.verdict(outcomes), quality.alerts(outcomes)
    run, remediation = _urns(urn, datetime.now(UTC))
    saved, opened, resolved = await graph.record_gate(
        state.neo4j, _db(state), urn, run=run, remediation=remediation, reason=reason,
        alert=alert, health=quality.health(outcomes), outcomes=[asdict(o) for o in outcomes],
        actor=actor,
    )  # fmt: skip
    product = record["product"]
    action = "gate.failed" if reason else "gate.passed"
    await emit_step(state, product, action, actor, urn, reason=reason, run=run)
    if alert:
        await emit_step(state, product, "gate.warned", actor, urn, alert=alert, run=run)
    if opened:
        await emit_step(state, product, "remediation.opened", actor, urn, remediation=opened)
    if resolved:
        await emit_step(state, product, "remediation.resolved", actor, urn,
                        remediation=resolved, run=run)  # fmt: skip
    return {**saved, "product": product, "domain": record["domain"]}


async def rerun(state: AppState, versions: list[str]) -> None:
    """A scan changed what these versions expose: run again the gates of those gated before
    (a version never gated waits for its owner's first run)."""
    for urn in versions:
        record = await get_version(state, urn)
        if record.get("qualityCheckedAt") and record["status"] != Status.RETIRED:
            await run_gate(state, SCANNER, urn)


async def get_remediation(state: AppState, urn: str) -> dict[str, Any]:
    found = await graph.get_remediation(state.neo4j, _db(state), urn)
    if found is None:
        raise NotFound(f"no remediation {urn}", urn)
    return found


async def note_remediation(state: AppState, actor: str, urn: str, text: str) -> dict[str, Any]:
    """Add to the failure analysis of an open remediation (who, when, what)."""
    text = text.strip()
    if not 0 < len(text) <= MAX_NOTE:
        raise MeshError(f"a note has 1 to {MAX_NOTE} characters", "note")
    found = await get_remediation(state, urn)
    saved = await graph.note(state.neo4j, _db(state), urn, actor, text)
    if saved is None:
        raise WrongState(f"remediation {urn} is {found['status']}: its analysis is closed",
                         "remediation")  # fmt: skip
    version = await get_version(state, found["version"])
    await emit_step(state, version["product"], "remediation.noted", actor, found["version"],
                    remediation=urn)  # fmt: skip
    return saved
