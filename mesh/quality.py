"""Quality gates: a contract's quality rules evaluated over the profile facts in the graph.

Rules come from the ODCS contract: ``rowCount`` on a table, ``nullValues`` (``unit: percent``
or rows) and ``duplicateValues`` on a column, with the standard's thresholds (``mustBe``,
``mustBeLessThan``, ``mustBeBetween``, ...), and the SLA's ``freshness`` (value and unit) on
every output-port table. The facts are what the scans profiled: row counts, null ratios and
distinct counts, and when a table was last seen. A rule this evaluator does not run (SQL,
custom engines, other metrics) is reported as not evaluated and does not decide the gate; any
failing rule fails it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from open_data_contract_standard.model import DataQuality, OpenDataContractStandard

from mesh.contracts import Discovered

METRICS = ("rowCount", "nullValues", "duplicateValues")
UNITS = {"y": 365 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
THRESHOLDS = (
    "mustBe", "mustNotBe", "mustBeGreaterThan", "mustBeGreaterOrEqualTo", "mustBeLessThan",
    "mustBeLessOrEqualTo", "mustBeBetween", "mustNotBeBetween",
)  # fmt: skip


@dataclass(frozen=True)
class Outcome:
    rule: str  # its name or metric
    target: str  # table or table.column
    metric: str
    observed: float | None
    passed: bool | None  # None: not evaluated
    message: str


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


def _outcome(q: DataQuality, target: str, observed: float | None) -> Outcome:
    name = q.name or q.metric or q.type or "rule"
    metric = q.metric or q.type or "custom"
    if q.type not in (None, "library") or q.metric not in METRICS:
        return Outcome(name, target, metric, None, None, f"{metric}: not evaluated here")
    if observed is None:
        return Outcome(name, target, metric, None, False, f"{metric}: no profile of {target} yet")
    passed = meets(q, observed)
    if passed is None:
        return Outcome(name, target, metric, observed, None, f"{metric}: no threshold")
    verdict = "meets" if passed else "fails"
    return Outcome(name, target, metric, observed, passed,
                   f"{target} {metric} = {observed:g} {verdict} {_expected(q)}")  # fmt: skip


def _freshness(contract: OpenDataContractStandard) -> timedelta | None:
    for sla in contract.slaProperties or []:
        if (sla.property or "").lower() == "freshness" and isinstance(sla.value, int | float):
            unit = (sla.unit or "d").lower()[:1]
            return timedelta(seconds=float(sla.value) * UNITS.get(unit, 86400))
    return None


def evaluate(
    contract: OpenDataContractStandard, tables: list[Discovered], now: datetime | None = None
) -> list[Outcome]:
    """Every quality rule of the contract over the discovered output-port tables."""
    now = now or datetime.now(UTC)
    by_name = {t.name.lower(): t for t in tables}
    out: list[Outcome] = []
    for obj in contract.schema_ or []:
        name = obj.physicalName or obj.name or ""
        table = by_name.get(name.lower())
        for q in obj.quality or []:
            observed = _table_metric(q, table) if table else None
            out.append(_outcome(q, name, observed))
        for prop in obj.properties or []:
            column = table.columns.get(prop.name or "") if table else None
            for q in prop.quality or []:
                observed = _column_metric(q, table, column) if table and column else None
                out.append(_outcome(q, f"{name}.{prop.name}", observed))
    if (limit := _freshness(contract)) is not None:
        for table in tables:
            age = (now - table.last_seen_at).total_seconds() if table.last_seen_at else None
            passed = age is not None and age <= limit.total_seconds()
            seen = f"last seen {age:.0f} s ago" if age is not None else "never seen"
            out.append(Outcome("freshness", table.name, "freshness", age, passed,
                               f"{table.name} {seen}, freshness within {limit}"))  # fmt: skip
    return out


def verdict(outcomes: list[Outcome]) -> str | None:
    """The quarantine reason when a rule failed (the first failures), else None."""
    failed = [o.message for o in outcomes if o.passed is False]
    if not failed:
        return None
    more = f" (+{len(failed) - 3} more)" if len(failed) > 3 else ""
    return "; ".join(failed[:3]) + more
