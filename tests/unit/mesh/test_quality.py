"""Quality gates over profile facts: the contract's thresholds decide, unknown rules do not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mesh import contracts, quality
from mesh.contracts import Discovered
from tests.unit.mesh.odcs import contract

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def doc() -> object:
    return contracts.parse(
        contract(
            {
                "email": {
                    "logicalType": "string",
                    "quality": [{"metric": "nullValues", "unit": "percent", "mustBeLessThan": 5}],
                },
                "id": {"quality": [{"metric": "duplicateValues", "mustBe": 0}]},
            },
            quality=[
                {"metric": "rowCount", "mustBeGreaterThan": 100},
                {"type": "sql", "query": "SELECT count(*) FROM orders", "mustBe": 1},
            ],
            sla=[{"property": "freshness", "value": 1, "unit": "d"}],
        )
    )


def table(rows: int, null_ratio: float, distinct: int, seen: timedelta) -> Discovered:
    return Discovered(
        urn="urn:dw:table:pg/db/public/orders",
        name="orders",
        columns={"email": {"nullRatio": null_ratio}, "id": {"distinctCount": distinct}},
        row_count=rows,
        last_seen_at=NOW - seen,
    )


def test_a_healthy_table_passes_and_sql_rules_are_left_to_their_engine() -> None:
    outcomes = quality.evaluate(doc(), [table(1000, 0.01, 1000, timedelta(hours=2))], NOW)
    assert {o.metric: o.passed for o in outcomes} == {
        "rowCount": True,
        "sql": None,
        "nullValues": True,
        "duplicateValues": True,
        "freshness": True,
    }
    assert quality.verdict(outcomes) is None


def test_failing_rules_quarantine_with_the_reason() -> None:
    outcomes = quality.evaluate(doc(), [table(10, 0.2, 8, timedelta(days=3))], NOW)
    failed = {o.metric for o in outcomes if o.passed is False}
    assert failed == {"rowCount", "nullValues", "duplicateValues", "freshness"}
    reason = quality.verdict(outcomes)
    assert reason is not None
    assert reason.startswith("orders rowCount = 10 fails mustBeGreaterThan 100")
    assert "(+1 more)" in reason


def test_a_column_rule_reads_the_column_its_physical_name_names() -> None:
    """The column was looked up by its logical name: a rule on ``mail`` (physically
    ``email``) found no column and failed on a healthy table."""
    renamed = contracts.parse(
        contract(
            {
                "mail": {
                    "physicalName": "email",
                    "logicalType": "string",
                    "quality": [{"metric": "nullValues", "unit": "percent", "mustBeLessThan": 5}],
                }
            }
        )
    )
    outcomes = quality.evaluate(renamed, [table(1000, 0.01, 1000, timedelta(hours=2))], NOW)
    assert [(o.metric, o.passed) for o in outcomes] == [("nullValues", True)]


def test_a_table_never_profiled_fails_rather_than_passes() -> None:
    outcomes = quality.evaluate(doc(), [], NOW)
    assert [o.passed for o in outcomes if o.metric == "rowCount"] == [False]


def test_a_failing_warning_rule_alerts_without_quarantine() -> None:
    doc = contracts.parse(
        contract(
            {"id": {}},
            quality=[
                {"metric": "rowCount", "mustBeGreaterThan": 5},
                {"metric": "rowCount", "mustBeGreaterThan": 100, "severity": "warning"},
            ],
        )
    )
    outcomes = quality.evaluate(doc, [table(50, 0, 50, timedelta(0))], NOW)
    assert [o.level for o in outcomes] == [quality.Level.PASSED, quality.Level.WARNING]
    assert quality.verdict(outcomes) is None
    assert quality.alerts(outcomes) == "orders rowCount = 50 fails mustBeGreaterThan 100"
    assert quality.health(outcomes) is quality.Health.WARNING
    failing = quality.evaluate(doc, [table(3, 0, 3, timedelta(0))], NOW)
    assert quality.health(failing) is quality.Health.QUARANTINED


def test_sql_rules_take_their_measured_value_or_fail_with_the_reason() -> None:
    rules = quality.sql_rules(doc())
    assert [(r.path, r.table, r.column) for r in rules] == [("schema.0.quality.1", "orders", None)]
    tables = [table(1000, 0.01, 1000, timedelta(hours=2))]
    [met] = [
        o for o in quality.evaluate(doc(), tables, NOW, {rules[0].path: 1.0}) if o.metric == "sql"
    ]
    assert (met.level, met.observed) == (quality.Level.PASSED, 1.0)
    stopped = quality.evaluate(doc(), tables, NOW, {rules[0].path: "stopped: timed out after 1 s"})
    assert quality.verdict(stopped) == "orders sql: stopped: timed out after 1 s"
