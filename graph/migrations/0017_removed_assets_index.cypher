// A source's columns or tables are counted from indexes alone (graph/catalog.py
// `source_count_query`): all of them through `(source, name, urn)` (migration 0015), less the
// removed ones through these indexes, which hold removed assets only (a composite index leaves
// out a node without one of its properties, and live assets have no `removedAt`). Reading each
// column's removal and labels was the whole of the count: the 488,000 columns of a source at
// 10^6 in 0.4 to 0.6 s (docs/benchmarks.md, issue 17).
CREATE RANGE INDEX column_source_removed IF NOT EXISTS FOR (n:Column) ON (n.source, n.removedAt);
CREATE RANGE INDEX table_source_removed IF NOT EXISTS FOR (n:Table) ON (n.source, n.removedAt);
