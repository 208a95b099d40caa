// A schema's tables are counted from indexes alone (graph/catalog.py `schema_count_query`): all
// of them through `(schemaUrn, kind)` (migration 0014), less the removed ones through this
// index, which holds removed tables only (a composite index leaves out a node without one of
// its properties, and live tables have no `removedAt`). Reading `removedAt` on each table was
// most of the count: 16,000 tables of one schema at 10^6 in 11 to 17 ms, 4 to 6 ms this way
// (docs/benchmarks.md, issue 17).
CREATE RANGE INDEX table_schema_removed IF NOT EXISTS FOR (t:Table) ON (t.schemaUrn, t.removedAt);
