"""Quality gates: a contract's quality rules evaluated over the profile facts in the graph and
the values of its SQL rules measured on the source.

Rules come from the ODCS contract: ``rowCount`` on a table, ``nullValues`` (``unit: percent``
or rows) and ``duplicateValues`` on a column, with the standard's thresholds (``mustBe``,
``mustBeLessThan``, ``mustBeBetween``, ...), ``type: sql`` rules whose ``query`` gives one
number (run by mesh/probes.py, read-only and bounded: mesh/sql_checks.py), and the SLA's
``freshness`` (value and unit) on every output-port table. The facts are what the scans
profiled: row counts, null ratios and distinct counts, and when a table was last seen. A rule
this evaluator does not run (custom engines, other metrics) is reported as not evaluated and
does not decide the gate. A failing rule of ``severity: warning`` (or ``info``) raises an alert
and leaves the version usable; any other failing rule fails the gate.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from open_data_contract_standard.model import DataQuality, OpenDataContractStandard

from mesh.contracts import Discovered

METRICS = ("rowCount", "nullValues", "duplicateValues")
UNITS = {"y": 365 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
THRESHOLDS = (
    "mustBe", "mustNotBe", "mustBeGreaterThan", "mustBeGreaterOrEqualTo", "mustBeLessThan",
    "mustBeLessOrEqualTo", "mustBeBetween", "mustNotBeBetween",
)  # fmt: skip


WARNINGS = ("warning", "warn", "info")  # severities whose failure alerts instead of failing
SQL = "sql"


class Level(StrEnum):
    """How one rule fared."""

    PASSED = "passed"
    WARNING = "warning"  # failed a rule of severity warning: an alert, no quarantine
    FAILED = "failed"
    SKIPPED = "skipped"  # not evaluated here


class Health(StrEnum):
    """How a version stands after its last gate, as its consumers see it."""

    UNCHECKED = "unchecked"
    HEALTHY = "healthy"
    WARNING = "warning"
    QUARANTINED = "quarantined"


@dataclass(frozen=True)
class Outcome:
    rule: str  # its name or metric
    target: str  # table or table.column
    metric: str
    observed: float | None
    passed: bool | None  # None: not evaluated
    message: str
    level: Level = Level.SKIPPED


@dataclass(frozen=True)
class SqlRule:
    """A ``type: sql`` rule where the contract holds it (``path``, as in contract errors)."""

    path: str
    table: str  # the schema object's physicalName or name
    column: str | None
    query: str
    timeout_s: float | None  # customProperties ``timeoutSeconds``, if the rule sets one


# A SQL rule's value as measured on the source, or why there is none (in words).
Measured = float | str


def meets(q: DataQuality, value: float) -> bool | None:
    """Whether ``value`` meets every threshold the rule sets; None if it sets none."""
    checks: list[bool] = []
    if q.mustBe is not None:
        checks.append(value == q.mustBe)
    if q.mustNotBe is not None:
        checks.append(value != q.mustNotBe)
    if q.mustBeGreaterThan is not None:
        checks.append(value > q.mustBeGreaterThan)
    if q.mustBeGreaterOrEqualTo is not None:
        checks.append(value >= q.mustBeGreaterOrEqualTo)
    if q.mustBeLessThan is not None:
        checks.append(value < q.mustBeLessThan)
    if q.mustBeLessOrEqualTo is not None:
        checks.append(value <= q.mustBeLessOrEqualTo)
    if q.mustBeBetween is not None:
        checks.append(q.mustBeBetween[0] <= value <= q.mustBeBetween[1])
    if q.mustNotBeBetween is not None:
        checks.append(not q.mustNotBeBetween[0] <= value <= q.mustNotBeBetween[1])
    return all(checks) if checks else None


def _expected(q: DataQuality) -> str:
    return ", ".join(f"{k} {getattr(q, k)}" for k in THRESHOLDS if getattr(q, k) is not None)


def _table_metric(q: DataQuality, table: Discovered) -> float | None:
    if q.metric == "rowCount" and table.row_count is not None:
        return float(table.row_count)
    return None


def _column_metric(q: DataQuality, table: Discovered, column: dict[str, Any]) -> float | None:
    rows, ratio = table.row_count, column.get("nullRatio")
    if q.metric == "nullValues" and ratio is not None:
        if q.unit == "percent":
            return round(ratio * 100, 6)
        return round(ratio * rows) if rows is not None else None
    distinct = column.get("distinctCount")
    if q.metric == "duplicateValues" and distinct is not None and rows is not None:
        duplicates = max(rows - distinct, 0)
        return round(duplicates * 100 / rows, 6) if q.unit == "percent" and rows else duplicates
    return None


def _level(q: DataQuality, passed: bool | None) -> Level:
    if passed is None:
        return Level.SKIPPED
    if passed:
        return Level.PASSED
    return Level.WARNING if (q.severity or "").lower() in WARNINGS else Level.FAILED


def _outcome(
    q: DataQuality, target: str, observed: float | None, measured: Measured | None = None
) -> Outcome:
    name = q.name or q.metric or q.type or "rule"
    metric = q.metric or q.type or "custom"
    sql = q.type == SQL and measured is not None
    if not sql and (q.type not in (None, "library") or q.metric not in METRICS):
        return Outcome(name, target, metric, None, None, f"{metric}: not evaluated here")
    if isinstance(measured, str):
        return Outcome(name, target, metric, None, False, f"{target} {metric}: {measured}",
                       _level(q, False))  # fmt: skip
    observed = measured if sql else observed
    if observed is None:
        return Outcome(name, target, metric, None, False, f"{metric}: no profile of {target} yet",
                       _level(q, False))  # fmt: skip
    passed = meets(q, observed)
    if passed is None:
        return Outcome(name, target, metric, observed, None, f"{metric}: no threshold")
    verdict = "meets" if passed else "fails"
    return Outcome(name, target, metric, observed, passed,
                   f"{target} {metric} = {observed:g} {verdict} {_expected(q)}",
                   _level(q, passed))  # fmt: skip


def _rules(
    contract: OpenDataContractStandard,
) -> Iterator[tuple[str, str, str | None, DataQuality]]:
    """Every quality rule with its path, table and column (each its physicalName, else name:
    how the scans name them, as the contract's drift and compatibility key them)."""
    for i, obj in enumerate(contract.schema_ or []):
        name = obj.physicalName or obj.name or ""
        for j, q in enumerate(obj.quality or []):
            yield f"schema.{i}.quality.{j}", name, None, q
        for k, prop in enumerate(obj.properties or []):
            for j, q in enumerate(prop.quality or []):
                column = prop.physicalName or prop.name or ""
                yield f"schema.{i}.properties.{k}.quality.{j}", name, column, q


def _timeout(q: DataQuality) -> float | None:
    for prop in q.customProperties or []:
        if prop.property == "timeoutSeconds" and isinstance(prop.value, int | float):
            return float(prop.value)
    return None


def sql_rules(contract: OpenDataContractStandard) -> list[SqlRule]:
    """The contract's ``type: sql`` rules, to be measured on the source."""
    return [
        SqlRule(path, table, column, q.query or "", _timeout(q))
        for path, table, column, q in _rules(contract)
        if q.type == SQL
    ]


def _freshness(contract: OpenDataContractStandard) -> timedelta | None:
    for sla in contract.slaProperties or []:
        if (sla.property or "").lower() == "freshness" and isinstance(sla.value, int | float):
            unit = (sla.unit or "d").lower()[:1]
            return timedelta(seconds=float(sla.value) * UNITS.get(unit, 86400))
    return None


def evaluate(
    contract: OpenDataContractStandard, tables: list[Discovered], now: datetime | None = None,
    measured: Mapping[str, Measured] | None = None,
) -> list[Outcome]:  # fmt: skip
    """Every quality rule of the contract over the discovered output-port tables, with the SQL
    rules' values by path (``measured``; a SQL rule without one is not evaluated)."""
    now = now or datetime.now(UTC)
    measured = measured or {}
    by_name = {t.name.lower(): t for t in tables}
    out: list[Outcome] = []
    for path, name, column, q in _rules(contract):
        table = by_name.get(name.lower())
        if column is None:
            observed = _table_metric(q, table) if table else None
            out.append(_outcome(q, name, observed, measured.get(path)))
            continue
        facts = table.columns.get(column) if table else None
        observed = _column_metric(q, table, facts) if table and facts else None
        out.append(_outcome(q, f"{name}.{column}", observed, measured.get(path)))
    if (limit := _freshness(contract)) is not None:
        for table in tables:
            age = (now - table.last_seen_at).total_seconds() if table.last_seen_at else None
            passed = age is not None and age <= limit.total_seconds()
            seen = f"last seen {age:.0f} s ago" if age is not None else "never seen"
            level = Level.PASSED if passed else Level.FAILED
            message = f"{table.name} {seen}, freshness within {limit}"
            out.append(Outcome("freshness", table.name, "freshness", age, passed, message, level))
    return out


def _summary(messages: list[str]) -> str | None:
    if not messages:
        return None
    more = f" (+{len(messages) - 3} more)" if len(messages) > 3 else ""
    return "; ".join(messages[:3]) + more


def verdict(outcomes: list[Outcome]) -> str | None:
    """The quarantine reason when a rule failed (the first failures), else None."""
    return _summary([o.message for o in outcomes if o.level is Level.FAILED])


def alerts(outcomes: list[Outcome]) -> str | None:
    """What the failing warning rules say (the first ones), else None."""
    return _summary([o.message for o in outcomes if o.level is Level.WARNING])


def health(outcomes: list[Outcome]) -> Health:
    levels = {o.level for o in outcomes}
    if Level.FAILED in levels:
        return Health.QUARANTINED
    return Health.WARNING if Level.WARNING in levels else Health.HEALTHY
