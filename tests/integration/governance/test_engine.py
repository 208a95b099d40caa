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
from governance.templates import TEMPLATES, check_params
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


async def test_no_shipped_template_fails_a_column_without_labels(engine: PolicyEngine) -> None:
    """What lets evaluation send OPA only labelled columns (policies.ActiveRuleSet): a column
    without counted labels, of its own or upstream, passes every shipped estate template, even
    with no owner, tag, region or masking; a review label does not count either."""
    rules = [rule(t.id, **({"unknown_is_violation": True} if "unknown_is_violation"
                           in t.params.model_fields else {}))
             for t in TEMPLATES.values() if not t.operation]  # fmt: skip
    bare = column("bare", masking={})
    review = column("review", EMAIL, CVV, masking={})
    for label in review["labels"]:
        label["status"] = "review"
    assert await violations(engine, rules, [bare, review]) == set()
    review["labels"][0]["status"] = "confirmed"
    assert ("pii_has_owner", "review") in await violations(engine, rules, [bare, review])


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


# Custom Rego that fails every asset it is given, whatever its domain.
EVERYWHERE = """package mine

deny contains {"rule": "leak", "asset": asset.urn, "message": "m", "evidence": {}} if {
	some asset in input.assets
}
"""


async def test_custom_rego_finds_only_in_its_rules_scope(engine: PolicyEngine, unique: str) -> None:
    """A marketing rule whose Rego denies every asset finds only marketing's: a domain's
    policy raises no finding in another domain (nor for a rule it never declared)."""
    package = f"p_{unique}_v1"
    module = f"datawave/custom/{package}"
    await engine.put_module(module, EVERYWHERE.replace("mine", f"datawave.custom.{package}"))
    leak = {"id": f"{unique}/leak", "template": "custom", "templateVersion": 1, "params": {},
            "severity": "high", "scope": {"kind": "domain", "value": "marketing"},
            "controls": ["urn:dw:control:gdpr/art-32"]}  # fmt: skip
    assets = [column("ours") | {"domains": ["marketing"]},
              column("theirs") | {"domains": ["sales"]}, column("nobodys")]  # fmt: skip
    custom = [{"package": package, "policy": unique}]
    try:
        found = await engine.decide(
            f"{FINDINGS}/findings", {"rules": [leak], "assets": assets, "custom": custom}
        )
        assert [(f["rule"], f["asset"]) for f in found] == [(f"{unique}/leak", "ours")]
        undeclared = {"rules": [], "assets": assets, "custom": custom}
        assert await engine.decide(f"{FINDINGS}/findings", undeclared) == []
    finally:
        await engine.delete_module(module)


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


def inheriting(asset: dict, source: dict, status: str = "confirmed") -> dict:
    """``asset`` inheriting ``source``'s labels along one hop (graph/inheritance.py)."""
    inherited = [{**label, "status": "inherited", "sourceStatus": status, "from": source["urn"],
                  "path": [source["urn"], asset["urn"]], "via": ["urn:dw:job:v"]}
                 for label in source["labels"]]  # fmt: skip
    return asset | {"inheritedLabels": inherited}


async def test_personal_data_flowing_out_of_the_allowed_regions(engine: PolicyEngine) -> None:
    """A US column inheriting an EU email fails, naming where it comes from; so does the EU
    source whose email flows into it; an untagged one only when unknown regions fail."""
    rules = [rule("pii_no_cross_region_flow", allowed_regions=["eu"])]
    source = column("eu-src", EMAIL, tags=["region:eu"])
    copy = inheriting(column("us-copy", tags=["region:us"]), source)
    untagged = inheriting(column("untagged"), source)
    source["destinations"] = [
        {"urn": "us-copy", "source": "s", "labels": ["PII.Email"], "tags": ["region:us"],
         "domains": []},
        {"urn": "untagged", "source": "s", "labels": ["PII.Email"], "tags": [], "domains": []},
    ]  # fmt: skip
    assets = [source, copy, untagged]
    found = await engine.decide(f"{FINDINGS}/findings", {"rules": rules, "assets": assets})
    by_asset = {f["asset"]: f for f in found}
    assert set(by_asset) == {"eu-src", "us-copy"}
    assert by_asset["us-copy"]["evidence"] == {
        "labels": ["PII.Email"], "regions": ["us"],
        "receivedFrom": [{"label": "PII.Email", "from": "eu-src", "path": ["eu-src", "us-copy"]}],
    }  # fmt: skip
    assert by_asset["eu-src"]["evidence"] == {
        "labels": [], "regions": ["eu"],
        "flowsInto": [{"urn": "us-copy", "labels": ["PII.Email"], "regions": ["us"]}],
    }  # fmt: skip
    assert "flow(s) into us-copy" in by_asset["eu-src"]["message"]
    strict = [rule("pii_no_cross_region_flow", unknown_is_violation=True)]
    assert ("pii_no_cross_region_flow", "untagged") in await violations(
        engine, strict, [source, copy, untagged]
    )
    # An inheritance from a label still under review does not count.
    unsure = inheriting(column("us-unsure", tags=["region:us"]), source, status="review")
    assert await violations(engine, rules, [unsure]) == set()


async def test_inherited_labels_count_for_rules_that_say_so(engine: PolicyEngine) -> None:
    """A view column inheriting an email needs a retention period, an owner and masking like
    its source; a rule stored before the ``inherited`` parameter existed keeps to own labels."""
    source = column("src", EMAIL, owners=["crm"], tags=["retention:P2Y"])
    view = inheriting(column("view"), source)
    rules = [rule("retention_required"), rule("pii_has_owner"),
             rule("restricted_masked", sensitivities=["confidential"])]  # fmt: skip
    assert await violations(engine, rules, [view]) == {
        ("retention_required", "view"), ("pii_has_owner", "view"), ("restricted_masked", "view")
    }  # fmt: skip
    old = rule("retention_required")
    del old["params"]["inherited"]
    assert await violations(engine, [old], [view]) == set()
