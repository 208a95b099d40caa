"""Two waiver steps at once, as they happen when an approver and a requester (or a revocation
and the evaluation that expires the waiver) act in the same moment: the second step runs right
after the first has read the waiver, before it writes. Exactly one wins; the other is told the
waiver changed, and the waiver and its finding agree."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from neo4j import AsyncDriver

from core.settings import Settings
from governance import waivers
from graph import compliance
from graph.driver import write
from tests.integration.governance.flow import APPROVE_WAIVER, WAIVE, owner_finding
from tests.integration.governance.test_waiver_lifecycle import (
    REVOKE,
    WAIVERS,
    WITHDRAW,
    refusal,
    requested,
)

CHANGED = refusal("WrongStateError", "the waiver changed meanwhile; read it again")
ENDED = "MATCH (w:Waiver {urn: $urn}) SET w.expiresAt = $at"


def interleave(monkeypatch: pytest.MonkeyPatch, then: Callable[[], Awaitable[Any]]) -> None:
    """Run ``then`` once, as soon as the next waiver step has read its waiver and finding."""
    original, pending = waivers._reached, [then]

    async def hooked(*args: Any) -> Any:
        found = await original(*args)
        if pending:
            await pending.pop()()
        return found

    monkeypatch.setattr(waivers, "_reached", hooked)


async def status_of(w: dict[str, Any], finding: str) -> list[str]:
    listed = (await w["ada"](WAIVERS, status=None, finding=finding))["waivers"]
    return [e["node"]["status"] for e in listed["edges"]]


async def test_an_approval_loses_to_a_withdrawal_made_meanwhile(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """bob approves ada's request while she withdraws it: her withdrawal, first to write,
    stands; his approval is refused instead of waiving the finding of a withdrawn request."""
    w = world
    finding, waiver = await requested(w)
    withdrawn: list[dict[str, Any]] = []

    async def withdraw() -> None:
        withdrawn.append(
            (await w["ada"](WITHDRAW, waiver=waiver, reason="not needed"))["withdrawWaiver"]
        )

    interleave(monkeypatch, withdraw)
    approved = (await w["bob"](APPROVE_WAIVER, waiver=waiver))["approveWaiver"]
    assert withdrawn[0]["errors"] == [] and withdrawn[0]["waiver"]["status"] == "WITHDRAWN"
    assert approved == CHANGED
    assert await status_of(w, finding) == ["WITHDRAWN"]
    assert (await owner_finding(w))["status"] == "OPEN"


async def test_a_revocation_loses_to_the_expiry_made_meanwhile(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch, neo4j: AsyncDriver,
    settings: Settings,
) -> None:  # fmt: skip
    """bob revokes a waiver as it ends and an evaluation expires it: the expiry, first to
    write, stands (the finding open again); the revocation is refused, not written over it."""
    w, db = world, settings.neo4j.database
    finding, waiver = await requested(w)
    assert (await w["bob"](APPROVE_WAIVER, waiver=waiver))["approveWaiver"]["errors"] == []
    expired: list[Any] = []

    async def expire() -> None:
        now = datetime.now(UTC)
        await write(neo4j, db, ENDED, urn=waiver, at=now - timedelta(seconds=1))
        expired.extend(await compliance.expire_waivers(neo4j, db, now))

    interleave(monkeypatch, expire)
    revoked = (await w["bob"](REVOKE, waiver=waiver, reason="risk changed"))["revokeWaiver"]
    assert [f["urn"] for f in expired] == [finding]
    assert revoked == CHANGED
    assert await status_of(w, finding) == ["EXPIRED"]
    assert (await owner_finding(w))["status"] == "OPEN"


async def test_an_approval_and_a_withdrawal_at_once_leave_one_winner(
    world: dict[str, Any],
) -> None:
    """Round after round, bob approves and ada withdraws her request at the same time: exactly
    one succeeds, and the finding is waived exactly when the approval won."""
    w = world
    finding, waiver = await requested(w)
    for _ in range(8):
        approved, withdrawn = await asyncio.gather(
            w["bob"](APPROVE_WAIVER, waiver=waiver),
            w["ada"](WITHDRAW, waiver=waiver, reason="not needed"),
        )
        won = [p["errors"] == [] for p in (approved["approveWaiver"], withdrawn["withdrawWaiver"])]
        assert sorted(won) == [False, True], (approved, withdrawn)
        waived = (await owner_finding(w))["status"] == "WAIVED"
        assert waived == won[0]
        if waived:
            revoked = await w["bob"](REVOKE, waiver=waiver, reason="next round")
            assert revoked["revokeWaiver"]["errors"] == []
        asked = (await w["ada"](WAIVE, finding=finding))["requestWaiver"]
        assert asked["errors"] == [], asked
        waiver = asked["waiver"]["id"]
