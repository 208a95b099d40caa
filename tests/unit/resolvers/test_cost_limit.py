"""The cost limit (resolvers/limits.py, ``CostRule``): what a document is estimated to produce,
and which documents are refused for it."""

from __future__ import annotations

import pytest
from graphql import get_introspection_query, parse, validate

from resolvers import limits
from resolvers.limits import CostRule, document_errors
from resolvers.schema import schema
from tests.integration.graphql.test_loaders import PAGE

# Depth 11 (within the depth limit), 270 bytes: 25 MB and 7.7 s of a blocked event loop at 13
# columns a table, before the cost limit.
ATTACK = """{ asset(urn:"urn:dw:table:acme-mariadb/shop/shop/customers"){ ... on Table {
  columns { table { columns { table { columns { table { columns { table { columns { id
}}}}}}}}}}}}"""
PASSING = {
    "detail": """query ($urn: ID!) { asset(urn: $urn) { id name ... on Table { kind
      columns { id name dataType nullable ordinal
        labels { status confidence label { name category } } } } } }""",
    "page": """query ($source: String!) { assets(first: 100, filter: {kind: COLUMN, source:
      $source}) { edges { node { id name ... on Column { dataType } } }
      pageInfo { hasNextPage endCursor } } }""",
    "lineage": """query ($urn: ID!) { lineage(urn: $urn, direction: UPSTREAM, depth: 5) {
      nodes { id name } edges { from to } truncated } }""",
    "a page of 100 tables with everything (the repo's heaviest)": PAGE,
    "introspection": get_introspection_query(descriptions=True, directive_is_repeatable=True),
}


def errors_of(document: str) -> list[dict[str, object]]:
    found = document_errors(schema._schema, parse(document), (), False)
    return [{"message": e.message, **(e.extensions or {})} for e in found]


def cost(document: str, monkeypatch: pytest.MonkeyPatch) -> int:
    """The document's estimated cost, as a refusal with no budget reports it."""
    monkeypatch.setattr(limits, "MAX_COST", 0)
    [error] = validate(schema._schema, parse(document), [CostRule])
    assert error.extensions
    return int(error.extensions["cost"])


def test_the_attack_is_refused_before_it_runs() -> None:
    [error] = errors_of(ATTACK)
    assert error == {
        "message": "estimated cost 325,255,102 exceeds the maximum of 1,500,000: ask for "
        "smaller pages (first) or fewer nested lists",
        "code": "REQUEST_TOO_LARGE",
        "cost": 325_255_102,
        "maxCost": limits.MAX_COST,
    }


@pytest.mark.parametrize("document", PASSING.values(), ids=PASSING.keys())
def test_the_repos_documents_pass(document: str) -> None:
    assert errors_of(document) == []


def test_an_unpaged_list_counts_as_the_assumed_size(monkeypatch: pytest.MonkeyPatch) -> None:
    # asset, columns, then name for each of 50 columns
    assert cost('{ asset(urn: "x") { ... on Table { columns { name } } } }', monkeypatch) == 52


@pytest.mark.parametrize(
    ("page", "size"),
    [("(first: 7)", 7), ("", 50), ("(first: 1000)", 100), ("(first: $n)", 100)],
    ids=["literal", "the-default", "over-the-maximum", "a-variable-whatever-its-default"],
)
def test_a_connection_counts_its_page(
    page: str, size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = f"query ($n: Int! = 3) {{ assets{page} {{ totalCount edges {{ node {{ id }} }} }} }}"
    # assets, totalCount, edges, and a node and its id per edge
    assert cost(document, monkeypatch) == 3 + 2 * size


def test_fragments_count_at_each_spread(monkeypatch: pytest.MonkeyPatch) -> None:
    inline = cost('{ asset(urn: "x") { ... on Table { columns { name } } } }', monkeypatch)
    spread = """{ asset(urn: "x") { ...t } a: asset(urn: "y") { ...t } }
                fragment t on Table { columns { name } }"""
    assert cost(spread, monkeypatch) == 2 * inline
    nested = """{ asset(urn: "x") { ...t } }
                fragment t on Table { columns { ...c } } fragment c on Column { name }"""
    assert cost(nested, monkeypatch) == inline


def test_the_attack_is_refused_through_fragments() -> None:
    document = """{ asset(urn: "x") { ...t } }
      fragment t on Table { columns { table { columns { table { ...u } } } } }
      fragment u on Table { columns { table { columns { table { columns { id } } } } } }"""
    assert [e["code"] for e in errors_of(document)] == ["REQUEST_TOO_LARGE"]


def test_fragments_spread_twice_at_every_level_are_measured_once() -> None:
    """Strawberry's depth and alias rules walked a fragment at every spread: thirty fragments
    each spreading the one before twice took minutes (the suite's timeout); the cost, which
    counts every spread, refuses it."""
    fragments = ["fragment F0 on Table { id name }"]
    fragments += [f"fragment F{i} on Table {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, 40)]
    query = 'query { asset(urn: "x") { ... on Table { ...F39 } } } ' + " ".join(fragments)
    (error,) = errors_of(query)
    assert error["code"] == "REQUEST_TOO_LARGE"
