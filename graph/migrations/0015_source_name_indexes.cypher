// A page of one source's columns or tables by name (graph/catalog.py, `Anchor.SOURCE`) reads
// them in the order of an index on `(source, name, urn)` and stops at the page's end: through
// the `source` indexes of migration 0012 it read and sorted every column of the source (488,000
// at 10^6 columns, about a second for the first page; docs/benchmarks.md, issue 17). The URN
// orders namesakes (`id` in every table), so a page never reads a whole group of them. The
// composite index replaces the single one, so ingest keeps one index entry per asset; queries
// anchored on a source alone say `name IS NOT NULL AND urn IS NOT NULL` to seek it.
CREATE RANGE INDEX column_source_order IF NOT EXISTS FOR (n:Column) ON (n.source, n.name, n.urn);
CREATE RANGE INDEX table_source_order IF NOT EXISTS FOR (n:Table) ON (n.source, n.name, n.urn);
DROP INDEX column_source IF EXISTS;
DROP INDEX table_source IF EXISTS;
