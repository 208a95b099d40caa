"""Compliance evaluation: batched OPA decisions (DataWave) side by side with one OPA call per
asset (the naive path), over a synthetic estate in the local stack's Neo4j.

    .venv/bin/python bench/governance.py [--tables 2000] [--columns 10]

The estate: ``--tables`` tables of ``--columns`` columns under the source ``bench-governance``,
a fifth of the columns labelled (personal data, card codes), half the tables owned and tagged.
A policy with the shipped templates (``pii_has_owner``, ``retention_required``,
``restricted_masked``, ``no_cvv_stored``, ``pii_no_cross_region_flow``) scoped to the bench's
source is activated through the real workflow (two actors), then:

1. DataWave: ``governance.evaluation.evaluate(source=...)`` — facts a batch of 500 columns at a
   time, one OPA call per batch, findings merged per batch.
2. Naive: the same facts and the same finding writes, one OPA call per column.

Both must find the same findings. The bench removes its estate and policy at the end.
Results: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])

from core.settings import Settings  # noqa: E402
from governance import evaluation, policies  # noqa: E402
from governance.opa import FINDINGS, PolicyEngine  # noqa: E402
from governance.templates import ScopeKind, Severity  # noqa: E402
from graph import compliance  # noqa: E402
from graph.driver import write  # noqa: E402
from graph.migrations import apply_migrations  # noqa: E402
from live.state import open_state  # noqa: E402

SOURCE = "bench-governance"
POLICY = "bench-governance"
ESTATE = """
UNWIND $rows AS row
MERGE (t:Asset {urn: row.table}) SET t:Table, t.name = row.name, t.source = $source,
  t.tags = row.tags
WITH t, row
CALL (t, row) { WITH t, row WHERE row.owned MERGE (team:Team {name: 'bench-governance-team'})
  MERGE (team)-[:OWNS]->(t) }
UNWIND row.columns AS c
MERGE (col:Asset {urn: c.urn}) SET col:Column, col.name = c.name, col.source = $source
MERGE (t)-[:HAS_COLUMN]->(col)
WITH col, c WHERE c.label IS NOT NULL
MERGE (l:Label {name: c.label})
  ON CREATE SET l.category = split(c.label, '.')[0], l.sensitivity = c.sensitivity
MERGE (col)-[r:LABELED]->(l) SET r.status = 'confirmed'
"""
DROP = """
CALL () { MATCH (f:Finding {source: $source}) DETACH DELETE f }
CALL () { MATCH (n:Asset {source: $source}) DETACH DELETE n }
CALL () { MATCH (t:Team {name: 'bench-governance-team'}) DETACH DELETE t }
CALL () { MATCH (n:Policy|PolicyVersion|Rule) WHERE coalesce(n.urn, n.key) STARTS WITH $policy
          DETACH DELETE n }
"""
LABELS = [
    ("PII.Email", "confidential"),
    ("PII.NationalId", "restricted"),
    ("PCI.CVV", "restricted"),
]


def rows(tables: int, columns: int) -> list[dict]:
    out = []
    for t in range(tables):
        table = f"urn:dw:table:{SOURCE}/db/public/t{t:05}"
        cols = []
        for c in range(columns):
            label = LABELS[(t + c) % 3] if c % 5 == 0 else (None, None)
            urn = table.replace(":table:", ":column:") + f"/c{c:03}"
            cols.append(
                {"urn": urn, "name": f"c{c:03}", "label": label[0], "sensitivity": label[1]}
            )
        tags = ["retention:P2Y", "region:eu"] if t % 2 else ["region:us"]
        out.append({"table": table, "name": f"t{t:05}", "owned": t % 2 == 0, "tags": tags,
                    "columns": cols})  # fmt: skip
    return out


async def activate(db: str, engine: PolicyEngine) -> None:
    await policies.create_policy(db, "bench-author", POLICY, "benchmark", None)
    urn = f"urn:dw:policy:{POLICY}"
    for template in ("pii_has_owner", "retention_required", "restricted_masked",
                     "no_cvv_stored", "pii_no_cross_region_flow"):  # fmt: skip
        spec = policies.RuleSpec(template.replace("_", "-"), template, {}, Severity.HIGH,
                                 ScopeKind.SOURCE, SOURCE)  # fmt: skip
        await policies.add_rule(db, "bench-author", urn, spec)
    await policies.submit(db, engine, "bench-author", urn)
    await policies.approve("bench-reviewer", urn, 1)
    await policies.activate(db, engine, "bench-reviewer", urn, 1)


async def naive(state, engine: PolicyEngine) -> int:
    """The same work with one OPA call per column."""
    driver, db = state.neo4j, state.settings.neo4j.database
    rule_set = await policies.ensure_loaded(engine)
    after, found = "", 0
    while facts := await compliance.column_facts(driver, db, after=after, source=SOURCE):
        decisions = []
        for fact in facts:
            fact["masking"] = evaluation._masking(state)
            decision = await engine.decide(FINDINGS, {"assets": [fact]})
            decisions += decision["findings"]
        by_urn = {f["urn"]: f for f in facts}
        rows_ = evaluation._finding_rows(decisions, rule_set, by_urn)
        await compliance.record_findings(driver, db, version=rule_set.version,
                                         assets=list(by_urn), rows=rows_,
                                         now=evaluation.datetime.now(evaluation.UTC))  # fmt: skip
        found += len(rows_)
        after = facts[-1]["urn"]
    return found


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tables", type=int, default=2000)
    parser.add_argument("--columns", type=int, default=10)
    args = parser.parse_args()
    settings = Settings(_env_file=None, watch_compliance=False)
    async with open_state(settings) as state:
        db = settings.neo4j.database
        await apply_migrations(state.neo4j, db)
        engine = PolicyEngine(state.opa)
        await write(state.neo4j, db, DROP, source=SOURCE, policy=f"urn:dw:policy:{POLICY}")
        data = rows(args.tables, args.columns)
        for i in range(0, len(data), 200):
            await write(state.neo4j, db, ESTATE, rows=data[i : i + 200], source=SOURCE)
        try:
            await activate(db, engine)
            started = time.perf_counter()
            result = await evaluation.evaluate(state, source=SOURCE)
            batched = time.perf_counter() - started
            opened = len(result.opened)
            await write(state.neo4j, db, "MATCH (f:Finding {source: $s}) DETACH DELETE f",
                        s=SOURCE)  # fmt: skip
            started = time.perf_counter()
            found = await naive(state, engine)
            one_by_one = time.perf_counter() - started
            print(f"{result.assets} columns, {opened} findings (naive: {found})")
            print(f"DataWave (batches of {evaluation.BATCH}): {batched:.1f} s")
            print(f"naive (one OPA call per column): {one_by_one:.1f} s")
            print(f"speed-up: {one_by_one / batched:.1f}x")
        finally:
            await write(state.neo4j, db, DROP, source=SOURCE, policy=f"urn:dw:policy:{POLICY}")


if __name__ == "__main__":
    asyncio.run(main())
