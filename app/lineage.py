"""``POST /api/v1/lineage``: OpenLineage events over HTTP, where the OpenLineage clients' HTTP
transport (and any Marquez URL) sends them; ``POST /api/v1/lineage/batch`` takes a JSON array
of them (the spec's batch endpoint, ``/lineage/batch``), one request for a busy producer's
buffer.

A bearer token with ``lineage:write`` (pipeline service accounts: the ``service`` role) is
required; a token scoped to sources may send the jobs (and datasets) of those namespaces only,
and a scoped token may name a dataset that a registered source holds only if it may write
lineage of that table, as ``addLineage`` asks (its domains and source), since the worker draws
edges into and out of it. Each event is validated against the official schema (400 with the
JSON path that failed; in a batch, nothing is taken if one event fails), wrapped in the
CloudEvents envelope and published to ``datawave.lineage.v1`` keyed by its job, for the ingest
worker to write (201 once Kafka has them all). Like a mutation, each event is audited before it
is sent (nothing is sent if the audit trail is unavailable) and with its outcome after;
refusals are audited too.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Sequence

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse

from core.events import MAX_EVENT_BYTES, Event
from core.kinds import ASSET
from core.topics import LINEAGE
from core.urns import Urn, ancestors
from graph.catalog import nodes_by_urn
from graph.runs import DatasetRef, resolve, rows
from ingest.openlineage.envelope import wrap
from ingest.openlineage.schema import InvalidOpenLineage
from live.state import AppState
from security.audit import AuditUnavailable, Outcome, RequestAudit
from security.auth import Principal
from security.gateway import Refusal, authenticate, request_id
from security.rbac import Authorizer, allows, permission

PATH = "/api/v1/lineage"
BATCH_PATH = f"{PATH}/batch"
ACTION = "lineage.post"  # the audit trail's name for what this endpoint does
WRITE = permission("lineage:write")
# A batch is at most this many events and bytes (each event at most MAX_EVENT_BYTES).
MAX_BATCH_EVENTS = 1000
MAX_BATCH_BYTES = 16 * MAX_EVENT_BYTES


async def _body(request: Request, limit: int, what: str) -> object:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise Refusal(413, "REQUEST_TOO_LARGE", f"{what} is at most {limit} bytes")
    body = await request.body()
    if request.headers.get("content-encoding", "").lower() == "gzip":  # HttpTransport's option
        try:
            body = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(body, limit + 1)
        except zlib.error as err:
            raise Refusal(400, "BAD_REQUEST", f"not valid gzip: {err}") from None
    if len(body) > limit:
        raise Refusal(413, "REQUEST_TOO_LARGE", f"{what} is at most {limit} bytes")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as err:
        raise Refusal(400, "BAD_REQUEST", f"not valid JSON: {err}") from None


async def _events(request: Request, batch: bool) -> list[object]:
    """The request's events: its one event, or the array of a batch."""
    if not batch:
        return [await _body(request, MAX_EVENT_BYTES, "an event")]
    docs = await _body(request, MAX_BATCH_BYTES, "a batch")
    if not isinstance(docs, list):
        raise Refusal(400, "BAD_REQUEST", "a batch is a JSON array of OpenLineage events")
    if len(docs) > MAX_BATCH_EVENTS:
        raise Refusal(413, "REQUEST_TOO_LARGE", f"a batch is at most {MAX_BATCH_EVENTS} events")
    return docs


def _wrap_all(docs: list[object], batch: bool) -> list[Event]:
    """Every event in its envelope, or ``InvalidOpenLineage`` for the first the schema refuses
    (in a batch, its path starts with its index: ``$[3].run.runId``)."""
    events = []
    for i, doc in enumerate(docs):
        try:
            events.append(wrap(doc))
        except InvalidOpenLineage as err:
            if not batch:
                raise
            raise InvalidOpenLineage(f"$[{i}]{err.path[1:]}", err.message) from None
    return events


def _denied(audit: RequestAudit, reason: str, resource: str = PATH) -> Refusal:
    """A refusal for lack of permission, audited."""
    audit.note(ACTION, resource, "denied", reason)
    audit.flush_later()
    return Refusal(403, "FORBIDDEN", reason)


def _datasets(events: Sequence[Event]) -> list[DatasetRef]:
    """The datasets the events name that a registered source may hold: inputs, outputs, a
    dataset event's, and those their column lineage reads, as the worker maps them."""
    datasets = [d for e in events for d in rows(e)["datasets"]]
    refs = [d["ref"] for d in datasets] + [c["ref"] for d in datasets for c in d["columns"]]
    return list({r.key: r for r in refs if r.location}.values())


async def _held(state: AppState, refs: list[DatasetRef]) -> list[tuple[DatasetRef, str, list[str]]]:
    """(dataset, its table's URN, the table's domains) of each dataset a registered source
    holds (graph/runs.py ``resolve``, what the worker will write). A table no scan discovered
    yet (the worker makes it) is in the domains of its nearest container in the graph, or in
    none."""
    database = state.settings.neo4j.database
    async with state.neo4j.session(database=database) as session:
        urns = await session.execute_read(resolve, refs)
    tables = {r.key: urns[r.key] for r in refs if Urn.parse(urns[r.key]).kind == "table"}
    near = sorted({a for t in tables.values() for a in ancestors(t)[:-1]})  # not the source
    found = await nodes_by_urn(state.neo4j, database, ASSET, near) if near else {}

    def domains(table: str) -> list[str]:
        nearest = next((found[a] for a in ancestors(table) if a in found), None)
        return nearest.domains if nearest else []

    return [(r, tables[r.key], domains(tables[r.key])) for r in refs if r.key in tables]


async def _authorize(
    state: AppState, principal: Principal, audit: RequestAudit, events: Sequence[Event]
) -> None:
    """``lineage:write`` on each event's namespace (a source scope) and, for a scoped caller,
    on every table of a registered source an event names, in its domains and source: the
    rule of ``addLineage``. A dataset no source holds is its namespace's."""
    for namespace in sorted({Urn.parse(e.source).source for e in events}):
        if not allows(principal, WRITE, source=namespace):
            reason = f"{WRITE} on namespace {namespace!r} (a source scope) is required"
            raise _denied(audit, reason)
    authz = Authorizer(principal)
    if authz.scope() == (None, None) or not (refs := _datasets(events)):
        return
    for ref, table, domains in await _held(state, refs):
        if not authz.can_reach(WRITE, domains=domains, source=Urn.parse(table).source):
            reason = (
                f"{WRITE} on dataset {ref.name!r} of {ref.namespace!r} (a table of a registered "
                "source) in the caller's domain and source scope is required"
            )
            raise _denied(audit, reason, table)


def _records(events: Sequence[Event]) -> list[bytes]:
    """Each event as the worker takes it (core/events.parse_event), within its size limit."""
    records = [e.to_bytes() for e in events]
    for i, record in enumerate(records):
        if len(record) > MAX_EVENT_BYTES:
            reason = f"event $[{i}] is over {MAX_EVENT_BYTES} bytes in its envelope"
            raise Refusal(413, "REQUEST_TOO_LARGE", reason)
    return records


async def _attempt(audit: RequestAudit, events: Sequence[Event]) -> None:
    """Record each event (by its job, or its dataset) before it is sent, as a mutation's
    attempt is: an unavailable audit trail refuses the request with nothing sent."""
    for e in events:
        audit.note(ACTION, e.subject, "allowed", "attempt")
    try:
        await audit.flush()
    except AuditUnavailable as err:
        message = "the audit trail is unavailable, so nothing was sent"
        raise Refusal(503, "AUDIT_UNAVAILABLE", message) from err


async def _publish(
    state: AppState, audit: RequestAudit, events: Sequence[Event], records: list[bytes]
) -> None:
    """Send the events to Kafka, all of them before returning; each one's outcome is recorded
    after (its id when it was sent)."""
    try:
        sent = [
            await state.producer.send(LINEAGE, record, key=e.key)
            for e, record in zip(events, records, strict=True)
        ]
        await asyncio.gather(*sent)
    except Exception as err:
        _outcome(audit, events, "failed", type(err).__name__)
        raise
    _outcome(audit, events, "succeeded")


def _outcome(
    audit: RequestAudit, events: Sequence[Event], outcome: Outcome, detail: str = ""
) -> None:
    for e in events:
        audit.note(ACTION, e.subject, outcome, detail or e.id)
    audit.flush_later()


async def post_lineage(request: Request) -> JSONResponse:
    """One OpenLineage event."""
    return await _post(request, batch=False)


async def post_lineage_batch(request: Request) -> JSONResponse:
    """A JSON array of OpenLineage events, all taken or none."""
    return await _post(request, batch=True)


async def _post(request: Request, *, batch: bool) -> JSONResponse:
    state: AppState = request.app.state.datawave
    rid = request_id(request.headers.get("x-request-id"))
    client = request.client.host if request.client else "unknown"
    headers = {"X-Request-ID": rid}
    try:
        principal = await authenticate(
            state, request.headers.get("authorization"), request=rid, client=client, resource=PATH
        )
        audit = RequestAudit(state.audit, principal.subject, rid, client)
        if not allows(principal, WRITE):
            raise _denied(audit, f"{WRITE} is required")
        try:
            events = _wrap_all(await _events(request, batch), batch)
        except InvalidOpenLineage as err:
            body = {
                "message": err.message,
                "extensions": {"code": "INVALID_EVENT", "path": err.path},
            }
            return JSONResponse({"errors": [body]}, status_code=400, headers=headers)
        await _authorize(state, principal, audit, events)
        records = _records(events)
        await _attempt(audit, events)
    except Refusal as refusal:
        response = refusal.response()
        response.headers.update(headers)
        return response
    await _publish(state, audit, events, records)
    accepted = [{"id": e.id, "subject": e.subject} for e in events]
    body = {"events": accepted} if batch else accepted[0]
    return JSONResponse(body, status_code=201, headers=headers)
