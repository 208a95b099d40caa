"""A policy version holds a bounded number of rules: it is reviewed and approved whole, and
its rules are listed whole. The cap is lowered here to reach it in a few calls."""

from __future__ import annotations

from typing import Any

import pytest

from governance import policies
from tests.integration.governance.flow import ADD_RULE, CREATE, RULE

ADD = ADD_RULE.replace(
    "... on ParameterError", "... on InvalidInputError { field } ... on ParameterError"
)


async def test_a_policy_version_holds_at_most_max_rules(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """At the cap a new rule is refused (InvalidInputError on ``rule``); one replaced by its id
    still is not a new one, and the version keeps its rules."""
    ada, name, policy = world["ada"], world["name"], world["policy"]
    monkeypatch.setattr(policies, "MAX_RULES", 2, raising=False)
    assert (await ada(CREATE, input={"name": name, "description": "caps"}))["createPolicy"][
        "errors"
    ] == []

    async def add(id: str) -> dict[str, Any]:
        rule = {**RULE, "id": id, "params": {"categories": [name]}}
        return (await ada(ADD, policy=policy, rule=rule))["addRule"]

    for id in ("one", "two"):
        assert (await add(id))["errors"] == []
    third = await add("three")
    assert third == {
        "version": None,
        "errors": [{"__typename": "InvalidInputError", "field": "rule",
                    "message": f"{name} v1 holds 2 rules, the most a version may: replace one "
                               "(by its id) or split the policy"}],
    }  # fmt: skip
    replaced = await add("two")
    assert replaced["errors"] == []
    assert [r["id"] for r in replaced["version"]["rules"]] == ["one", "two"]
