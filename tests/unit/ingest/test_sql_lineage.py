"""View lineage from SQL: table edges, column edges through joins, CTEs and subqueries."""

from __future__ import annotations

import pytest

from ingest.sql_lineage import LineageError, TableName, view_lineage

PG_CATALOG = {
    TableName("db", "raw", "users"): ["id", "email", "country"],
    TableName("db", "raw", "orders"): ["id", "user_id", "total"],
}


def edges(sql: str, view: TableName, columns: list[str], catalog: dict, dialect="postgres"):
    found = view_lineage(
        sql, dialect=dialect, source="src", view=view, view_columns=columns, catalog=catalog
    )
    return {(e.upstream_urn.split(":", 3)[3], e.downstream_urn.split(":", 3)[3]) for e in found}


def test_join_with_subquery_and_unqualified_columns() -> None:
    sql = """SELECT u.id, email, coalesce(o.t, 0) AS revenue FROM raw.users u
             LEFT JOIN (SELECT user_id, sum(total) AS t FROM raw.orders GROUP BY user_id) o
             ON o.user_id = u.id"""
    view = TableName("db", "marts", "v")
    assert edges(sql, view, ["id", "email", "revenue"], PG_CATALOG) == {
        ("src/db/raw/users", "src/db/marts/v"),
        ("src/db/raw/orders", "src/db/marts/v"),
        ("src/db/raw/users/id", "src/db/marts/v/id"),
        ("src/db/raw/users/email", "src/db/marts/v/email"),
        ("src/db/raw/orders/total", "src/db/marts/v/revenue"),
    }


def test_cte_is_not_a_table_and_view_columns_rename_by_position() -> None:
    sql = """WITH big AS (SELECT user_id, total FROM raw.orders WHERE total > 10)
             SELECT u.country, big.total FROM big JOIN raw.users u ON u.id = big.user_id"""
    view = TableName("db", "marts", "v")
    assert edges(sql, view, ["land", "amount"], PG_CATALOG) == {
        ("src/db/raw/users", "src/db/marts/v"),
        ("src/db/raw/orders", "src/db/marts/v"),
        ("src/db/raw/users/country", "src/db/marts/v/land"),
        ("src/db/raw/orders/total", "src/db/marts/v/amount"),
    }


def test_mysql_definition_as_stored_by_mariadb() -> None:
    sql = (
        "select `shop`.`o`.`id` AS `id`,`shop`.`c`.`email` AS `email` from"
        " (`shop`.`o` join `shop`.`c` on(`shop`.`c`.`id` = `shop`.`o`.`c_id`))"
    )
    catalog = {
        TableName("shop", "shop", "o"): ["id", "c_id"],
        TableName("shop", "shop", "c"): ["id", "email"],
    }
    view = TableName("shop", "shop", "v")
    assert edges(sql, view, ["id", "email"], catalog, dialect="mysql") == {
        ("src/shop/shop/o", "src/shop/shop/v"),
        ("src/shop/shop/c", "src/shop/shop/v"),
        ("src/shop/shop/o/id", "src/shop/shop/v/id"),
        ("src/shop/shop/c/email", "src/shop/shop/v/email"),
    }


def test_postgres_definition_of_a_quoted_mixed_case_table() -> None:
    """As pg_get_viewdef prints it: every column qualified by the quoted table name (sqlglot
    traced none of them, the view kept only its table edge)."""
    sql = """ SELECT "KundenMixed".id,
    "KundenMixed"."EMail" AS e,
    "KundenMixed"."Betrag"
   FROM "KundenMixed";"""
    catalog = {TableName("db", "public", "KundenMixed"): ["id", "EMail", "Betrag"]}
    view = TableName("db", "public", "v")
    assert edges(sql, view, ["id", "e", "Betrag"], catalog) == {
        ("src/db/public/KundenMixed", "src/db/public/v"),
        ("src/db/public/KundenMixed/id", "src/db/public/v/id"),
        ("src/db/public/KundenMixed/EMail", "src/db/public/v/e"),
        ("src/db/public/KundenMixed/Betrag", "src/db/public/v/Betrag"),
    }


def test_table_outside_the_catalog_still_gets_a_table_edge() -> None:
    sql = "SELECT x.a FROM other.ext x"
    view = TableName("db", "public", "v")
    assert edges(sql, view, ["a"], PG_CATALOG) == {
        ("src/db/other/ext", "src/db/public/v"),
        ("src/db/other/ext/a", "src/db/public/v/a"),
    }


def test_aggregate_without_columns_has_only_the_table_edge() -> None:
    view = TableName("db", "public", "v")
    assert edges("SELECT count(*) AS n FROM raw.orders", view, ["n"], PG_CATALOG) == {
        ("src/db/raw/orders", "src/db/public/v"),
    }


def test_unparseable_sql_raises() -> None:
    with pytest.raises(LineageError, match="cannot parse"):
        view_lineage(
            "SELECT FROM WHERE (",
            dialect="postgres",
            source="src",
            view=TableName("db", "public", "v"),
            view_columns=[],
            catalog={},
        )


def test_what_else_the_database_holds_changes_nothing() -> None:
    """A view's lineage depends on the tables it names only: the same edges (a star expanded
    from the catalog included) beside 20,000 other tables, some with similar names."""
    sql = "SELECT u.*, o.total FROM raw.users u JOIN raw.orders o ON o.user_id = u.id"
    view = TableName("db", "marts", "v")
    columns = ["id", "email", "country", "total"]
    crowd = {
        TableName("db", f"s{i % 50}", f"{name}_{i}"): ["id", "email", "total"]
        for i in range(10_000)
        for name in ("users", "orders")
    }
    alone = edges(sql, view, columns, PG_CATALOG)
    assert ("src/db/raw/users/email", "src/db/marts/v/email") in alone
    assert edges(sql, view, columns, crowd | PG_CATALOG) == alone
