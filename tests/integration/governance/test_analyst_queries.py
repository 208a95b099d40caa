"""The governance questions of docs/analysts.md answer on a governed estate of our own."""

from __future__ import annotations

from typing import Any, LiteralString, cast

from neo4j import AsyncDriver

from core.settings import Settings
from graph.driver import read
from tests.integration.app.test_analyst_queries import QUERIES
from tests.integration.estate import Estate
from tests.integration.governance.flow import draft, release


async def ask(neo4j: AsyncDriver, settings: Settings, title: str, **params: str) -> list[dict]:
    query, defaults = QUERIES[title]
    rows = await read(
        neo4j, settings.neo4j.database, cast(LiteralString, query), **{**defaults, **params}
    )
    return rows


async def test_personal_data_with_open_gdpr_findings(
    world: dict[str, Any], neo4j: AsyncDriver, settings: Settings
) -> None:
    await draft(world)
    await release(world, 1)  # activation evaluates: the email column has no owner
    rows = await ask(
        neo4j,
        settings,
        "Personal data in a domain with open GDPR findings",
        domain=world["domain"],
        categories=world["name"],
    )
    assert rows == [
        {
            "column": world["email"],
            "labels": [f"{world['name']}.Email"],
            "articles": ["Art. 30"],
            "severities": ["high"],
        }
    ]


async def test_where_card_data_flows(
    world: dict[str, Any], neo4j: AsyncDriver, settings: Settings
) -> None:
    estate = Estate(world["name"])
    estate.table("payments", ("card",))
    estate.table("copies", ("card_copy",))
    card = estate.column_urn("payments", "card")
    estate.label(card, "Card")  # category: the test's name
    estate.feeds(card, estate.column_urn("copies", "card_copy"))
    await estate.write(neo4j, settings.neo4j.database)
    rows = await ask(neo4j, settings, "Where card data flows", category=world["name"])
    assert [(r["card_column"], r["flows_into"], r["hops"]) for r in rows] == [
        (card, estate.column_urn("copies", "card_copy"), 1)
    ]
