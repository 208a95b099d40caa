"""Search within access grants: a granted table matches itself, a granted container every
table under it (by URN path), a granted column no table."""

from __future__ import annotations

from live.search import granted_clauses


def test_tables_under_a_granted_container_or_the_table_itself() -> None:
    granted = frozenset({
        "urn:dw:schema:pg/shop/public", "urn:dw:table:pg/shop/sales/orders",
        "urn:dw:source:mongo", "urn:dw:column:pg/shop/hr/people/email",
    })  # fmt: skip
    assert granted_clauses(granted) == [
        {"prefix": {"urn": "urn:dw:table:pg/shop/public/"}},
        {"prefix": {"urn": "urn:dw:table:mongo/"}},
        {"term": {"urn": "urn:dw:table:pg/shop/sales/orders"}},
    ]
