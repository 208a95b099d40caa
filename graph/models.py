"""Governance entities as neomodel objects: few, edited one at a time, read whole.

Policies, their versions and rules, rule sets and waivers are CRUD-heavy and low-volume, where
an object mapper reads better than Cypher. neomodel's ``adb`` is one per process: ``bind_models``
points it at the app's driver for the lifespan, on the app's event loop (and back at the
previous one afterwards, so nested servers in one test process unwind), and ``unit_of_work``
runs a workflow step in one transaction on the configured database. Bulk reads and writes
(facts, findings) stay on UNWIND Cypher (graph/compliance.py). Labels and constraints are
installed by migration 0008, not by neomodel's ``install_labels``; tests/unit/graph/
test_models.py checks that they agree.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from neo4j import AsyncDriver
from neomodel import (
    ArrayProperty,
    AsyncRelationshipTo,
    AsyncStructuredNode,
    DateTimeNeo4jFormatProperty,
    IntegerProperty,
    JSONProperty,
    StringProperty,
    adb,
)

# Per event loop, the drivers bound on it and not yet released, oldest first.
_bound: dict[asyncio.AbstractEventLoop, list[AsyncDriver]] = {}


def bound_driver() -> AsyncDriver | None:
    """The driver neomodel uses from the running event loop: the newest bound on that loop."""
    drivers = _bound.get(asyncio.get_running_loop())
    return drivers[-1] if drivers else None


class _LoopDriver:
    """neomodel's one process-wide driver, resolved per event loop. A driver's connections
    belong to the loop that opened them: two apps in one process on two loops (a test's
    ``TestClient`` runs its app on a loop of its own) each reach Neo4j through their own,
    instead of a background task of one borrowing a connection of the other ("Future attached
    to a different loop")."""

    def __bool__(self) -> bool:
        return bound_driver() is not None

    def __getattr__(self, name: str) -> Any:  # neomodel calls session() (close(): never ours)
        driver = bound_driver()
        if driver is None:
            raise RuntimeError("no Neo4j driver bound for neomodel on this event loop")
        return getattr(driver, name)


_LOOP_DRIVER = _LoopDriver()


@asynccontextmanager
async def bind_models(driver: AsyncDriver, database: str) -> AsyncIterator[None]:
    """neomodel uses ``driver`` (which stays the caller's to close) on the calling event loop
    until the block ends, then the newest driver still bound on it. Blocks need not nest: two
    app instances on one loop (a test's servers, started together and stopped in any order)
    never leave neomodel on a driver that was closed, which failed every later governed call
    with "Driver closed"."""
    loop = asyncio.get_running_loop()
    _bound.setdefault(loop, []).append(driver)
    await adb.set_connection(driver=_LOOP_DRIVER)  # type: ignore[arg-type]
    try:
        yield
    finally:
        _bound[loop].remove(driver)
        if not _bound[loop]:
            del _bound[loop]


@asynccontextmanager
async def unit_of_work(database: str) -> AsyncIterator[None]:
    """One write transaction for the neomodel calls of a workflow step (context-local)."""
    adb._database_name = database  # context-local in neomodel: this task and its children
    async with adb.transaction:
        yield


class Rule(AsyncStructuredNode):
    """A rule template applied with parameter values, a severity and a scope."""

    key = StringProperty(unique_index=True, required=True)  # <version key>#<rule id>
    name = StringProperty(required=True)  # the rule id within its policy version
    template = StringProperty(required=True)
    template_version = IntegerProperty(db_property="templateVersion", required=True)
    params = JSONProperty(default={})
    severity = StringProperty(required=True)
    scope_kind = StringProperty(db_property="scopeKind", default="global")
    scope_value = StringProperty(db_property="scopeValue")
    controls = ArrayProperty(StringProperty(), default=list)  # control URNs it implements


class PolicyVersion(AsyncStructuredNode):
    """One version of a policy: its rules, custom Rego and test cases, and where it stands."""

    key = StringProperty(unique_index=True, required=True)  # <policy urn>@v<n>
    name = StringProperty(required=True)  # <policy> v<n>: Neo4j Browser's caption
    policy = StringProperty(required=True)
    version = IntegerProperty(required=True)
    state = StringProperty(default="draft")
    authors = ArrayProperty(StringProperty(), default=list)
    custom_rego = StringProperty(db_property="customRego")
    tests = JSONProperty(default=[])
    # The masking policy's versions only: {"rules": [...], "default": ...} (governance/masking.py).
    masking = JSONProperty()
    # SHA-256 of the content whose tests last passed: submit needs the current content's.
    tested = StringProperty()
    created_at = DateTimeNeo4jFormatProperty(db_property="createdAt", default_now=True)
    submitted_by = StringProperty(db_property="submittedBy")
    submitted_at = DateTimeNeo4jFormatProperty(db_property="submittedAt")
    returned_by = StringProperty(db_property="returnedBy")  # sent back from review to draft
    returned_at = DateTimeNeo4jFormatProperty(db_property="returnedAt")
    return_note = StringProperty(db_property="returnNote")
    approved_by = StringProperty(db_property="approvedBy")
    approved_at = DateTimeNeo4jFormatProperty(db_property="approvedAt")
    activated_by = StringProperty(db_property="activatedBy")
    activated_at = DateTimeNeo4jFormatProperty(db_property="activatedAt")
    retired_at = DateTimeNeo4jFormatProperty(db_property="retiredAt")
    # The version its activation retired (0: none was in force), which a rollback reactivates;
    # unset on versions activated before it was recorded.
    replaced = IntegerProperty()
    rules = AsyncRelationshipTo(Rule, "HAS_RULE")


class Policy(AsyncStructuredNode):
    key = StringProperty(db_property="urn", unique_index=True, required=True)
    name = StringProperty(required=True)
    description = StringProperty(default="")
    domain = StringProperty()  # a domain-local policy; None: global
    created_by = StringProperty(db_property="createdBy")
    created_at = DateTimeNeo4jFormatProperty(db_property="createdAt", default_now=True)
    versions = AsyncRelationshipTo(PolicyVersion, "HAS_POLICY_VERSION")


class RuleSet(AsyncStructuredNode):
    """What OPA evaluates: the active policy versions, numbered; findings cite the number."""

    version = IntegerProperty(unique_index=True, required=True)
    name = StringProperty(required=True)  # rule set v<n>
    activated_by = StringProperty(db_property="activatedBy")
    activated_at = DateTimeNeo4jFormatProperty(db_property="activatedAt", default_now=True)
    includes = AsyncRelationshipTo(PolicyVersion, "INCLUDES")


class UtcDateTimeProperty(DateTimeNeo4jFormatProperty):
    """A datetime written with its UTC offset (``Z``). The driver reads one back in pytz's
    named UTC, which a save of the object would write back as ``...Z[UTC]``: text that Cypher
    reads of waivers hand to ``datetime.fromisoformat`` and to page cursors, which refuse it
    (migration 0020 rewrote the waivers saved so before)."""

    def deflate(self, value: Any, obj: Any = None, rethrow: bool | None = True) -> Any:
        if isinstance(value, datetime) and value.tzinfo is not None:
            value = value.astimezone(UTC)
        return super().deflate(value, obj, rethrow)


class Waiver(AsyncStructuredNode):
    """A time-limited exception for one finding, approved by someone other than its requester."""

    key = StringProperty(db_property="id", unique_index=True, required=True)  # a UUID
    urn = StringProperty(unique_index=True, required=True)  # urn:dw:waiver:<id> (migration 0019)
    name = StringProperty(required=True)
    finding = StringProperty(required=True)  # the finding's URN
    reason = StringProperty(required=True)
    # approved, expired; declined (by an approver), withdrawn (by its requester) while
    # requested; revoked while approved and running
    status = StringProperty(default="requested")
    requested_by = StringProperty(db_property="requestedBy", required=True)
    requested_at = UtcDateTimeProperty(db_property="requestedAt", default_now=True)
    expires_at = UtcDateTimeProperty(db_property="expiresAt", required=True)
    approved_by = StringProperty(db_property="approvedBy")
    approved_at = UtcDateTimeProperty(db_property="approvedAt")
    # Who declined, withdrew or revoked it, when and why (a report as of a moment before a
    # revocation still reads the finding waived).
    closed_by = StringProperty(db_property="closedBy")
    closed_at = UtcDateTimeProperty(db_property="closedAt")
    close_reason = StringProperty(db_property="closeReason")
