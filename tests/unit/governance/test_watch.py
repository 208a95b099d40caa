"""The watcher settles evaluations apart from their findings: those that end while one is being
settled are merged and settled together next, under the latest rule set."""

from __future__ import annotations

import asyncio

from governance.evaluation import Evaluation
from governance.watch import _Owed


def finding(urn: str, domain: str) -> dict[str, object]:
    return {"urn": urn, "framework": "gdpr", "domains": [domain], "status": "resolved"}


async def test_evaluations_that_end_together_are_settled_once() -> None:
    owed = _Owed()
    owed.add(Evaluation(rule_set=4, controls={"a"}, resolved=[finding("f1", "sales")]))
    owed.add(Evaluation(rule_set=0))  # before any rule set: nothing to settle
    owed.add(Evaluation(rule_set=5, controls={"b"}, resolved=[finding("f2", "hr")]))
    merged = await owed.take()
    assert (merged.rule_set, merged.controls) == (5, {"b"})
    assert [f["urn"] for f in merged.resolved] == ["f1", "f2"]  # scores cover both domains
    waiting = asyncio.create_task(owed.take())
    await asyncio.sleep(0.05)
    assert not waiting.done()  # nothing owed until the next evaluation ends
    owed.add(Evaluation(rule_set=5, controls={"b"}))
    assert (await asyncio.wait_for(waiting, 5)).rule_set == 5
