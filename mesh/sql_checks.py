"""Custom SQL quality rules: what may run against a source, and in what bounded form.

A contract's ``type: sql`` rule is run on the product's source (mesh/probes.py), so the text is
parsed with sqlglot in the source's dialect first and refused unless it is exactly one
read-only query: a SELECT (or a set operation of them), with no data-changing node anywhere
(``INSERT``/``UPDATE``/``DELETE``/``MERGE`` in a CTE, ``SELECT ... INTO``, DDL, ``FOR UPDATE``
locks, statements sqlglot only knows as commands). What runs is sqlglot's rendering of that
parse, wrapped in ``SELECT * FROM (...) LIMIT 2``: the rule's value is the first column of its
one row. The connector's session is read-only as well, so the parse is not the only guard.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from mesh.errors import MeshError

# Nodes that change data or schema, or take locks: refused wherever they appear.
WRITES: tuple[type[exp.Expression], ...] = (
    exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.Create, exp.Drop, exp.Alter,
    exp.TruncateTable, exp.Command, exp.Into, exp.Lock, exp.Set, exp.Copy, exp.Use,
    exp.Grant, exp.Transaction, exp.Commit, exp.Rollback,
)  # fmt: skip
ROWS = 2  # read at most this many rows: one is the answer, a second means the rule is wrong
MAX_CHARS = 10_000
OBJECT, PROPERTY = "${object}", "${property}"  # ODCS placeholders for the table and column


class Refused(MeshError):
    """The statement is not one read-only query; ``field`` is the rule's path."""


def check(text: str, dialect: str | None, path: str = "query") -> exp.Query:
    """The one read-only query ``text`` holds, or Refused saying why."""
    if not text.strip() or len(text) > MAX_CHARS:
        raise Refused(f"{path}: a query of 1 to {MAX_CHARS} characters", path)
    try:
        parsed = [p for p in sqlglot.parse(text, read=dialect) if p is not None]
    except SqlglotError as err:
        raise Refused(f"{path}: not SQL sqlglot reads: {str(err).splitlines()[0]}", path) from None
    if len(parsed) != 1:
        raise Refused(f"{path}: one statement only, found {len(parsed)}", path)
    [query] = parsed
    if not isinstance(query, exp.Query):
        raise Refused(f"{path}: only a SELECT runs, not {query.key.upper()}", path)
    found = next((n for n in query.walk() if isinstance(n, WRITES)), None)
    if found is not None:
        raise Refused(f"{path}: read-only queries only; {found.key.upper()} is not", path)
    return query


def placeholders(text: str, dialect: str | None, table: str, column: str | None) -> str:
    """ODCS's ``${object}`` and ``${property}`` as quoted identifiers of the dialect."""
    out = text.replace(OBJECT, exp.to_identifier(table, quoted=True).sql(dialect=dialect))
    if column is not None:
        out = out.replace(PROPERTY, exp.to_identifier(column, quoted=True).sql(dialect=dialect))
    return out


def bounded(text: str, dialect: str | None, path: str = "query") -> str:
    """The checked query, as it runs: at most ``ROWS`` rows of it."""
    query = check(text, dialect, path)
    return exp.select("*").from_(query.subquery("dw_check")).limit(ROWS).sql(dialect=dialect)


def value_of(rows: Sequence[Sequence[Any]]) -> float:
    """The rule's value: the first column of its one row, a number; ValueError otherwise."""
    if len(rows) != 1:
        raise ValueError(f"the query returned {len(rows) if len(rows) < ROWS else 'several'} "
                         "rows, not one")  # fmt: skip
    first = rows[0][0] if rows[0] else None
    if isinstance(first, bool) or first is None:
        raise ValueError(f"the query's first value is {first!r}, not a number")
    try:
        return float(first)
    except (TypeError, ValueError):
        raise ValueError(f"the query's first value is {first!r}, not a number") from None
