"""The shipped templates decide as documented, evaluated by the real OPA (one call for many
assets), and an OPA that lost its rule set (restarted) gets it back before the next decision."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from neo4j import AsyncDriver

from core.settings import Settings
from governance import policies
from governance.opa import ACTIVE, FINDINGS, PolicyEngine
from governance.templates import check_params
from graph.models import bind_models


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[PolicyEngine]:
    async with httpx.AsyncClient(base_url=settings.opa_url, timeout=10) as client:
        engine = PolicyEngine(client)
        await engine.load_shipped()
        yield engine


def rule(template: str, **params: Any) -> dict[str, Any]:
    return {"id": f"p/{template}", "template": template, "templateVersion": 1,
            "params": check_params(template, params), "severity": "high",
            "scope": {"kind": "global", "value": None}, "controls": []}  # fmt: skip


def column(urn: str, *labels: tuple[str, str], owners=(), tags=(), masking=None) -> dict:
    return {
        "urn": urn, "source": "s", "domains": [], "owners": list(owners), "tags": list(tags),
        "masking": masking or {"confidential": "partial", "restricted": "redact"},
        "labels": [{"name": n, "category": n.split(".")[0], "sensitivity": s,
                    "status": "confirmed"} for n, s in labels],
    }  # fmt: skip


EMAIL = ("PII.Email", "confidential")
CVV = ("PCI.CVV", "restricted")


async def violations(engine: PolicyEngine, rules: list[dict], assets: list[dict]) -> set:
    found = await engine.decide(f"{FINDINGS}/findings", {"rules": rules, "assets": assets})
    return {(f["rule"].split("/")[1], f["asset"]) for f in found}


async def test_templates_decide_as_documented(engine: PolicyEngine) -> None:
    rules = [
        rule("pii_has_owner"),
        rule("retention_required"),
        rule("no_cvv_stored"),
        rule("restricted_masked", sensitivities=["confidential"]),
    ]
    assets = [
        column("bare", EMAIL),
        column(
            "kept",
            EMAIL,
            owners=["crm"],
            tags=["retention:P2Y"],
            masking={"confidential": "redact"},
        ),
        column("card", CVV, owners=["pay"]),
        column("plain"),
    ]
    assert await violations(engine, rules, assets) == {
        ("pii_has_owner", "bare"),
        ("retention_required", "bare"),
        ("restricted_masked", "bare"),  # confidential shows partially, only redact/hash allowed
        ("no_cvv_stored", "card"),
    }


async def test_a_scoped_rule_applies_only_in_its_scope(engine: PolicyEngine) -> None:
    scoped = rule("pii_has_owner") | {"scope": {"kind": "domain", "value": "sales"}}
    inside = column("in", EMAIL) | {"domains": ["sales"]}
    outside = column("out", EMAIL) | {"domains": ["finance"]}
    assert await violations(engine, [scoped], [inside, outside]) == {("pii_has_owner", "in")}


async def test_a_label_under_review_does_not_count(engine: PolicyEngine) -> None:
    unsure = column("c", EMAIL)
    unsure["labels"][0]["status"] = "review"
    assert await violations(engine, [rule("pii_has_owner")], [unsure]) == set()


async def test_an_opa_that_lost_its_rule_set_gets_it_back(
    engine: PolicyEngine, neo4j: AsyncDriver, settings: Settings
) -> None:
    """What a restart does: data.datawave.active is gone. The next evaluation pushes the
    graph's rule set again before deciding."""
    await engine.put_data(ACTIVE, {})
    assert await engine.get_data(f"{ACTIVE}/version") is None
    async with bind_models(neo4j, settings.neo4j.database):
        current = await policies.ensure_loaded(engine)
    assert await engine.get_data(f"{ACTIVE}/version") == current.version
    assert await engine.get_data(f"{ACTIVE}/rules") == current.rules


async def test_personal_data_flowing_out_of_the_allowed_regions(engine: PolicyEngine) -> None:
    rules = [rule("pii_no_cross_region_flow", allowed_regions=["eu"])]
    source = column("eu-src", EMAIL, tags=["region:eu"])
    copy = column("us-copy", tags=["region:us"]) | {"upstreamLabels": source["labels"]}
    untagged = column("untagged") | {"upstreamLabels": source["labels"]}
    assert await violations(engine, rules, [source, copy, untagged]) == {
        ("pii_no_cross_region_flow", "us-copy")
    }
    strict = [rule("pii_no_cross_region_flow", unknown_is_violation=True)]
    assert ("pii_no_cross_region_flow", "untagged") in await violations(
        engine, strict, [source, copy, untagged]
    )
