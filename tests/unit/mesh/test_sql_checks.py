"""Custom SQL quality rules: only one read-only query runs, bounded, and gives one number."""

from __future__ import annotations

import pytest

from mesh import sql_checks
from mesh.sql_checks import Refused

DIALECTS = ("postgres", "mysql")


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("DELETE FROM orders", "only a SELECT runs, not DELETE"),
        ("UPDATE orders SET total = 0", "only a SELECT runs, not UPDATE"),
        ("SELECT 1; DROP TABLE orders", "one statement only, found 2"),
        ("WITH d AS (DELETE FROM orders RETURNING id) SELECT COUNT(*) FROM d",
         "read-only queries only; DELETE is not"),
        ("SELECT * INTO copy FROM orders", "read-only queries only; INTO is not"),
        ("SELECT * FROM orders FOR UPDATE", "read-only queries only; LOCK is not"),
        ("", "a query of 1 to 10000 characters"),
    ],
)  # fmt: skip
def test_anything_but_one_read_only_query_is_refused(text: str, why: str, dialect: str) -> None:
    with pytest.raises(Refused) as err:
        sql_checks.bounded(text, dialect, "schema.0.quality.0.query")
    assert err.value.message == f"schema.0.quality.0.query: {why}"
    assert err.value.field == "schema.0.quality.0.query"


@pytest.mark.parametrize("dialect", DIALECTS)
def test_what_runs_is_the_parsed_query_under_a_limit(dialect: str) -> None:
    sql = sql_checks.bounded(
        "with neg as (select id from orders where total < 0) select count(*) from neg", dialect
    )
    assert sql == (
        "SELECT * FROM (WITH neg AS (SELECT id FROM orders WHERE total < 0) "
        "SELECT COUNT(*) FROM neg) AS dw_check LIMIT 2"
    )


def test_placeholders_are_quoted_identifiers_of_the_dialect() -> None:
    text = "SELECT COUNT(*) FROM ${object} WHERE ${property} IS NULL"
    assert sql_checks.placeholders(text, "mysql", "or`ders", "e mail") == (
        "SELECT COUNT(*) FROM `or``ders` WHERE `e mail` IS NULL"
    )
    assert sql_checks.placeholders(text, "postgres", 'or"ders', "email") == (
        'SELECT COUNT(*) FROM "or""ders" WHERE "email" IS NULL'
    )


def test_the_value_is_one_number() -> None:
    assert sql_checks.value_of([(3,)]) == 3.0
    with pytest.raises(ValueError, match="returned several rows"):
        sql_checks.value_of([(1,), (2,)])
    with pytest.raises(ValueError, match="returned 0 rows"):
        sql_checks.value_of([])
    with pytest.raises(ValueError, match="not a number"):
        sql_checks.value_of([("many",)])
