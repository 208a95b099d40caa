"""``POST /api/v1/lineage``: OpenLineage events over HTTP, where the OpenLineage clients' HTTP
transport (and any Marquez URL) sends them; ``POST /api/v1/lineage/batch`` takes a JSON array
of them (the spec's batch endpoint, ``/lineage/batch``), one request for a busy producer's
buffer.

A bearer token with ``lineage:write`` (pipeline service accounts: the ``service`` role) is
required; a token scoped to sources may send the jobs (and datasets) of those namespaces only.
Each event is validated against the official schema (400 with the JSON path that failed; in a
batch, nothing is taken if one event fails), wrapped in the CloudEvents envelope and published
to ``datawave.lineage.v1`` keyed by its job, for the ingest worker to write (201 once Kafka has
them all). Refusals are audited.
"""

from __future__ import annotations

import asyncio
import zlib

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse

from core.events import MAX_EVENT_BYTES, Event
from core.topics import LINEAGE
from core.urns import Urn
from ingest.openlineage.envelope import wrap
from ingest.openlineage.schema import InvalidOpenLineage
from live.state import AppState
from security.audit import AuditEvent
from security.gateway import Refusal, authenticate, request_id
from security.rbac import allows, permission

PATH = "/api/v1/lineage"
BATCH_PATH = f"{PATH}/batch"
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


def _denied(state: AppState, subject: str, rid: str, client: str, reason: str) -> Refusal:
    """A refusal for lack of permission, audited."""
    event = AuditEvent(subject, "lineage.post", PATH, "denied", rid, client, reason)
    state.audit.record_later(event)
    return Refusal(403, "FORBIDDEN", reason)


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
        if not allows(principal, WRITE):
            raise _denied(state, principal.subject, rid, client, f"{WRITE} is required")
        try:
            events = _wrap_all(await _events(request, batch), batch)
        except InvalidOpenLineage as err:
            body = {
                "message": err.message,
                "extensions": {"code": "INVALID_EVENT", "path": err.path},
            }
            return JSONResponse({"errors": [body]}, status_code=400, headers=headers)
        for namespace in sorted({Urn.parse(e.source).source for e in events}):
            if not allows(principal, WRITE, source=namespace):
                reason = f"{WRITE} on namespace {namespace!r} (a source scope) is required"
                raise _denied(state, principal.subject, rid, client, reason)
        records = [e.to_bytes() for e in events]
        for i, record in enumerate(records):  # what the worker takes (core/events.parse_event)
            if len(record) > MAX_EVENT_BYTES:
                reason = f"event $[{i}] is over {MAX_EVENT_BYTES} bytes in its envelope"
                raise Refusal(413, "REQUEST_TOO_LARGE", reason)
    except Refusal as refusal:
        response = refusal.response()
        response.headers.update(headers)
        return response
    sent = [
        await state.producer.send(LINEAGE, record, key=e.key)
        for e, record in zip(events, records, strict=True)
    ]
    await asyncio.gather(*sent)
    accepted = [{"id": e.id, "subject": e.subject} for e in events]
    body = {"events": accepted} if batch else accepted[0]
    return JSONResponse(body, status_code=201, headers=headers)
