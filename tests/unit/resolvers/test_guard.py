"""The guard applies each kind's read permission and scope rule from the kinds registry."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graph.records import NodeRecord
from resolvers.guard import Guard
from security.audit import RequestAudit
from security.auth import Principal


def guard(**scopes: Any) -> Guard:
    principal = Principal("ana", frozenset({"viewer"}), **scopes)
    return Guard(principal, RequestAudit(None, "ana", "r1", "127.0.0.1"))


def node(labels: list[str], urn: str, domains: Sequence[str] = (), **props: Any) -> NodeRecord:
    return NodeRecord(labels=labels, props={"urn": urn, **props}, domains=list(domains))


SOURCE = node(["DataSource"], "urn:dw:source:pg", name="pg")
JOB = node(["Job"], "urn:dw:job:pg/db/public/report", source="pg")
TABLE = node(["Asset", "Table"], "urn:dw:table:pg/db/public/orders", ["sales"], source="pg")
PRODUCT = node(["DataProduct"], "urn:dw:product:sales/orders", ["sales"])
DOMAIN = node(["Domain"], "urn:dw:domain:sales", name="sales")
POLICY = node(["Policy"], "urn:dw:policy:pii-owners")


def test_sources_and_jobs_are_scoped_by_their_data_source() -> None:
    assert guard(sources=frozenset({"pg"})).reaches(SOURCE)
    assert guard(sources=frozenset({"pg"})).reaches(JOB)
    assert not guard(sources=frozenset({"mysql"})).reaches(SOURCE)
    assert not guard(sources=frozenset({"mysql"})).reaches(JOB)
    # neither is in a domain: a domain scope does not hide them
    assert guard(domains=frozenset({"finance"})).reaches(SOURCE)


def test_assets_are_scoped_by_domain_and_source() -> None:
    assert guard(domains=frozenset({"sales"}), sources=frozenset({"pg"})).reaches(TABLE)
    assert not guard(domains=frozenset({"finance"})).reaches(TABLE)
    assert not guard(sources=frozenset({"mysql"})).reaches(TABLE)


def test_data_products_and_domains_are_discovered_across_domains() -> None:
    # a marketplace: finance finds sales' products; what they expose stays scoped (TABLE)
    assert guard(domains=frozenset({"finance"})).reaches(PRODUCT)
    assert guard(domains=frozenset({"finance"}), sources=frozenset({"mysql"})).reaches(DOMAIN)
    service = Principal("al", frozenset({"service"}))  # no product:read
    assert not Guard(service, RequestAudit(None, "al", "r2", "127.0.0.1")).reaches(PRODUCT)


def test_kinds_without_a_scope_rule_are_never_reached() -> None:
    assert not guard().reaches(POLICY)
    assert not guard().reaches(node(["Anomaly"], "not-a-urn"))


def test_a_node_known_by_its_urn_alone_is_reached_only_wherever_the_graph_places_it() -> None:
    """What a subscriber hears of without a read (resolvers/channels.py ``reaches``), also
    once the node is gone."""
    assert guard().reaches_unplaced(TABLE.urn)
    assert guard(sources=frozenset({"pg"})).reaches_unplaced(TABLE.urn)
    assert not guard(sources=frozenset({"mysql"})).reaches_unplaced(TABLE.urn)
    assert not guard(domains=frozenset({"sales"})).reaches_unplaced(TABLE.urn), "or finance's"
    admin = Principal("ad", frozenset({"admin"}), domains=frozenset({"finance"}))
    assert Guard(admin, RequestAudit(None, "ad", "r3", "127.0.0.1")).reaches_unplaced(TABLE.urn)
    assert guard(domains=frozenset({"finance"})).reaches_unplaced(PRODUCT.urn)
    request = "urn:dw:access:sales/orders/r1"
    assert not guard().reaches_unplaced(request), "no party to it: only its parties hear of it"
