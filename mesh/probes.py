"""A contract's SQL quality rules measured on the real source, bounded.

Each ``type: sql`` rule runs against the source of the output-port table its schema object
names, through that source's connector (its registered config, the operator's access policy,
its read-only session): the text is checked to be one read-only query in the source's dialect
and wrapped in a LIMIT (mesh/sql_checks.py), and the source stops it after
``DATAWAVE_MESH__QUALITY_SQL_TIMEOUT_S`` (or the rule's shorter ``timeoutSeconds``). While the
source's circuit breaker is open (ingest/breakers.py: its scans kept failing), no rule connects
to it. A rule that cannot be measured (refused, timed out, source down, breaker open, not one
number) gets the reason instead of a value, which fails the rule: a check that cannot run does
not pass.
"""

from __future__ import annotations

from redis.exceptions import RedisError

from core.urns import Urn
from ingest.breakers import breakers
from ingest.connectors.base import connector_for
from ingest.connectors.sql import SqlConnector
from ingest.scan import ScanError, registered
from ingest.source_access import SourceAccess, SourceAccessError
from live.state import AppState
from mesh import sql_checks
from mesh.contracts import Discovered
from mesh.errors import InvalidContract
from mesh.quality import Measured, SqlRule


def check_rules(rules: list[SqlRule]) -> None:
    """At import, before any source is known: each rule's query must be one read-only query
    in some SQL dialect DataWave runs (the run checks it again in its source's)."""
    for rule in rules:
        path = f"{rule.path}.query"
        text = sql_checks.placeholders(rule.query, None, rule.table, rule.column)
        refusals: list[sql_checks.Refused] = []
        for dialect in (None, "postgres", "mysql"):
            try:
                sql_checks.check(text, dialect, path)
                break
            except sql_checks.Refused as err:
                refusals.append(err)
        else:
            raise InvalidContract(refusals[0].message, path)


async def measure(
    state: AppState, rules: list[SqlRule], tables: list[Discovered]
) -> dict[str, Measured]:
    """Each rule's value (or why there is none) by its path."""
    by_name = {t.name.lower(): t for t in tables}
    out: dict[str, Measured] = {}
    for rule in rules:
        table = by_name.get(rule.table.lower())
        if table is None:
            out[rule.path] = f"no output port exposes a table {rule.table}"
        else:
            out[rule.path] = await _measure(state, rule, table.urn)
    return out


async def _measure(state: AppState, rule: SqlRule, table: str) -> Measured:
    parsed = Urn.parse(table)
    if parsed.source is None or len(parsed.path) < 3:
        return f"{table} is not a table of a source"
    database, schema, name = parsed.path[:3]
    most = state.settings.mesh.quality_sql_timeout_s
    timeout_s = min(rule.timeout_s or most, most)
    try:
        config = await registered(state.settings, state.neo4j, parsed.source)
    except ScanError as err:
        return str(err)
    if refusal := await _breaker_refusal(state, config.name):
        return f"not run: {refusal}"
    async with connector_for(config, SourceAccess.from_settings(state.settings)) as connector:
        if not isinstance(connector, SqlConnector):
            return f"SQL rules run on relational sources; {config.name} is {config.kind}"
        dialect = connector.dialect
        try:
            text = sql_checks.placeholders(rule.query, dialect, name, rule.column)
            sql = sql_checks.bounded(text, dialect, f"{rule.path}.query")
            rows = await connector.read_only(database, schema, sql, timeout_s)
            return sql_checks.value_of(rows)
        except sql_checks.Refused as err:
            return f"refused: {err.message}"
        except TimeoutError:
            return f"stopped: timed out after {timeout_s:g} s"
        except SourceAccessError as err:
            return f"not run: {err}"
        except ValueError as err:
            return str(err)
        except connector.recoverable as err:
            return f"failed on {config.name}: {connector.explain(err)}"


async def _breaker_refusal(state: AppState, source: str) -> str | None:
    """Why the source's open breaker refuses a connection now; None if it may be tried (a
    closed breaker, or Redis cannot tell: a breaker must not stop more than the source)."""
    try:
        (breaker,) = await breakers(state.redis, [source])
    except RedisError:
        return None
    return breaker.refusal
