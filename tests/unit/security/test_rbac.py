"""RBAC decisions: roles, domain and source scopes, granted permissions."""

from __future__ import annotations

from security.auth import Principal
from security.rbac import UNASSIGNED, Authorizer, allows, permission

WRITE = permission("asset:write")
READ = permission("asset:read")
PII = permission("pii:read")


def who(*roles: str, domains=("*",), sources=("*",), permissions=()) -> Principal:
    return Principal(
        "u", frozenset(roles), frozenset(domains), frozenset(sources), frozenset(permissions)
    )


def test_viewer_reads_but_cannot_write() -> None:
    assert allows(who("viewer"), READ)
    assert not allows(who("viewer"), WRITE)


def test_steward_of_sales_cannot_change_finance() -> None:
    steward = who("steward", domains=["sales"])
    assert allows(steward, WRITE, domain="sales")
    assert not allows(steward, WRITE, domain="finance")


def test_source_scope_limits_reads() -> None:
    viewer = who("viewer", sources=["pg-sales"])
    assert allows(viewer, READ, source="pg-sales")
    assert not allows(viewer, READ, source="mongo-crm")


def test_pii_read_needs_a_grant_or_admin() -> None:
    assert not allows(who("steward"), PII)
    assert allows(who("steward", permissions=["pii:read"]), PII)
    assert allows(who("admin", domains=["x"]), PII, domain="y")


def test_unknown_roles_grant_nothing() -> None:
    assert not allows(who("superuser"), READ)


def test_authorizer_caches_per_request() -> None:
    auth = Authorizer(who("viewer"))
    assert auth.can(READ, source="a") and auth.can(READ, source="a")
    assert len(auth._cache) == 1


def test_an_asset_in_no_domain_needs_an_unrestricted_domain_scope() -> None:
    assert not allows(who("steward", domains=["sales"]), READ, domain=UNASSIGNED)
    assert allows(who("steward"), READ, domain=UNASSIGNED)
    assert not Authorizer(who("viewer", domains=["sales"])).can_reach(READ, domains=[], source="s")


def test_an_asset_in_two_domains_needs_both() -> None:
    both = ["sales", "finance"]
    assert not Authorizer(who("viewer", domains=["sales"])).can_reach(
        READ, domains=both, source="s"
    )
    assert Authorizer(who("viewer", domains=both)).can_reach(READ, domains=both, source="s")


def test_scope_says_what_queries_filter_by() -> None:
    assert Authorizer(who("viewer")).scope() == (None, None)
    assert Authorizer(who("viewer", domains=["sales"], sources=["pg"])).scope() == (
        {"sales"},
        {"pg"},
    )
    assert Authorizer(who("admin", domains=["sales"])).scope() == (None, None)
