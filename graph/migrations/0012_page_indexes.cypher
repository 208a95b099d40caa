// Filtered pages of one source (graph/catalog.py, `Anchor.SOURCE`) seek its tables or columns
// here instead of scanning every node with the label: with a million columns in the graph, a
// page of one source's columns read all of them (docs/benchmarks.md, GraphQL).
CREATE INDEX column_source IF NOT EXISTS FOR (n:Column) ON (n.source);
CREATE INDEX table_source IF NOT EXISTS FOR (n:Table) ON (n.source);
