"""Which documents may be answered with a kept response (resolvers/responses.py): catalog data
only, in queries only."""

from __future__ import annotations

import pytest

from resolvers.responses import reads_catalog_only
from resolvers.schema import schema

KEPT = [
    """query ($urn: ID!) { asset(urn: $urn) { id name ... on Table { kind
       columns { id name labels { status confidence label { name category } } } } } }""",
    "query ($urn: ID!) { lineage(urn: $urn) { nodes { id name } edges { from to } } }",
    """query ($urn: ID!) { asset(urn: $urn) { id ... on Dataset { namespace dataSource
       fields { name type } upstream { edges { node { id } } } } } }""",
    """{ assets(first: 5) { edges { cursor node { __typename id ...c } }
       pageInfo { hasNextPage } } } fragment c on Column { dataType table { name } }""",
]
EXECUTED = {
    "a mutation": 'mutation { describeAsset(input: {urn: "x"}) { errors { message } } }',
    "a root field outside the catalog": "{ serverInfo { version } }",
    "a data source's health": '{ asset(urn: "x") { ... on Database { dataSource { status } } } }',
    "teams": '{ asset(urn: "x") { owners { name } } }',
    "a job": '{ lineage(urn: "x") { edges { via { name } } } }',
    "evidence examples": '{ asset(urn: "x") { ... on Column { labels { evidence { examples } } } } '
    "}",
    "introspection": "{ __schema { queryType { name } } }",
    "a second operation that is not a query": 'query A { asset(urn: "x") { id } } '
    "subscription B { catalogChanges { urn } }",
}


@pytest.mark.parametrize("document", KEPT)
def test_catalog_reads_are_kept(document: str) -> None:
    assert reads_catalog_only(schema._schema, document)


@pytest.mark.parametrize("document", EXECUTED.values(), ids=EXECUTED.keys())
def test_anything_else_is_executed_every_time(document: str) -> None:
    assert not reads_catalog_only(schema._schema, document)
