"""``POST /api/v1/lineage``: OpenLineage events over HTTP, where the OpenLineage clients' HTTP
transport (and any Marquez URL) sends them.

A bearer token with ``lineage:write`` (pipeline service accounts: the ``service`` role) is
required; a token scoped to sources may send the jobs (and datasets) of those namespaces only.
The event is validated against the official schema (400 with the JSON path that failed),
wrapped in the CloudEvents envelope and published to ``datawave.lineage.v1`` keyed by its job,
for the ingest worker to write (201 once Kafka has it). Refusals are audited.
"""

from __future__ import annotations

import zlib

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse

from core.events import MAX_EVENT_BYTES
from core.topics import LINEAGE
from core.urns import Urn
from ingest.openlineage.envelope import wrap
from ingest.openlineage.schema import InvalidOpenLineage
from live.state import AppState
from security.audit import AuditEvent
from security.gateway import Refusal, authenticate, request_id
from security.rbac import allows, permission

PATH = "/api/v1/lineage"
WRITE = permission("lineage:write")


async def _event(request: Request) -> object:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_EVENT_BYTES:
        raise Refusal(413, "REQUEST_TOO_LARGE", f"an event is at most {MAX_EVENT_BYTES} bytes")
    body = await request.body()
    if request.headers.get("content-encoding", "").lower() == "gzip":  # HttpTransport's option
        try:
            body = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(body, MAX_EVENT_BYTES + 1)
        except zlib.error as err:
            raise Refusal(400, "BAD_REQUEST", f"not valid gzip: {err}") from None
    if len(body) > MAX_EVENT_BYTES:
        raise Refusal(413, "REQUEST_TOO_LARGE", f"an event is at most {MAX_EVENT_BYTES} bytes")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as err:
        raise Refusal(400, "BAD_REQUEST", f"not valid JSON: {err}") from None


def _denied(state: AppState, subject: str, rid: str, client: str, reason: str) -> Refusal:
    """A refusal for lack of permission, audited."""
    event = AuditEvent(subject, "lineage.post", PATH, "denied", rid, client, reason)
    state.audit.record_later(event)
    return Refusal(403, "FORBIDDEN", reason)


async def post_lineage(request: Request) -> JSONResponse:
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
            event = wrap(await _event(request))
        except InvalidOpenLineage as err:
            body = {
                "message": err.message,
                "extensions": {"code": "INVALID_EVENT", "path": err.path},
            }
            return JSONResponse({"errors": [body]}, status_code=400, headers=headers)
        namespace = Urn.parse(event.source).source
        if not allows(principal, WRITE, source=namespace):
            reason = f"{WRITE} on namespace {namespace!r} (a source scope) is required"
            raise _denied(state, principal.subject, rid, client, reason)
    except Refusal as refusal:
        response = refusal.response()
        response.headers.update(headers)
        return response
    await state.producer.send_and_wait(LINEAGE, event.to_bytes(), key=event.key)
    return JSONResponse(
        {"id": event.id, "subject": event.subject}, status_code=201, headers=headers
    )
