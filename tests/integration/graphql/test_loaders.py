"""DataLoaders keep the number of Cypher queries of a page independent of its size."""

from __future__ import annotations

from neo4j import AsyncDriver

from core.settings import Settings
from tests.integration.estate import Estate
from tests.integration.graphql.conftest import Execute, reads_of

PAGE = """
query ($source: String!, $first: Int!) {
  assets(filter: {source: $source, kind: TABLE}, first: $first) {
    edges {
      node {
        name
        owners { name }
        ... on Table {
          schema { name }
          columns { name labels { label { name } } upstream { edges { node { name } } } }
          labels { label { name } }
          upstream { edges { node { name } } }
          downstream { edges { node { name } } }
          versions { edges { node { version } } }
        }
      }
    }
  }
}
"""


async def test_a_page_of_100_tables_costs_a_fixed_number_of_queries(
    execute: Execute, estate: Estate, neo4j: AsyncDriver, settings: Settings
) -> None:
    tables = [estate.table(f"t{i:03}", ("id", "email", "phone")) for i in range(100)]
    for i, urn in enumerate(tables):
        estate.label(estate.column_urn(f"t{i:03}", "email"), "Email")
        estate.owner(urn, "team")
        estate.version(urn, 1, [{"name": "id"}])
        if i:
            estate.feeds(tables[i - 1], urn)
    await estate.write(neo4j, settings.neo4j.database)

    costs = {}
    for first in (10, 100):
        costs[first], answer = await reads_of(
            lambda first=first: execute(PAGE, source=estate.name, first=first)
        )
        page = answer["assets"]["edges"]
        assert len(page) == first
        last = page[-1]["node"]
        assert len(last["columns"]) == 3
        assert last["columns"][1]["labels"] == [{"label": {"name": f"{estate.name}.Email"}}]
        assert last["owners"] == [{"name": f"{estate.name}-team"}]
        versions = [e["node"] for e in last["versions"]["edges"]]
        assert (last["schema"], versions) == ({"name": "public"}, [{"version": 1}])
    # page, owners, schema, columns, column labels, their inherited labels, column upstream,
    # labels, inherited labels, up, down, versions
    assert costs[10] == costs[100] <= 12, costs
