"""Which registered source a view's reference to another database belongs to (graph/lineage)."""

from __future__ import annotations

import pytest

from graph.lineage import owner

PEERS = [("a", ["sales"]), ("b", ["crm"]), ("every", [])]


@pytest.mark.parametrize(
    ("source", "database", "peers", "expected"),
    [
        ("a", "sales", PEERS, "a"),  # its own database
        ("every", "crm", PEERS, "every"),  # a source scanning every database owns them all
        ("a", "crm", PEERS, "b"),  # a peer naming the database wins
        ("a", "hr", PEERS, "every"),  # else a peer scanning every database
        ("a", "hr", [("a", ["sales"]), ("b", ["crm"])], None),  # nobody: unresolved
        ("unregistered", "crm", [], "unregistered"),  # no registration: nothing to go by
    ],
)
def test_owner(source: str, database: str, peers: list, expected: str | None) -> None:
    assert owner(source, database, peers) == expected
