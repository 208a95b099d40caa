// Indexes that no query uses, yet every asset write kept current. The catalog filters and
// sorts in its page queries (graph/catalog.py), search is OpenSearch's, analysts' queries
// (docs/analysts.md) start from URNs, labels and sources. Keeping `column_name` alone cost a
// quarter of Neo4j's ingest time at scale 100 (docs/benchmarks.md, Ingest). An analyst who
// looks columns up by name often can create it again; a label scan answers meanwhile.
DROP INDEX asset_name IF EXISTS;
DROP INDEX column_name IF EXISTS;
DROP INDEX table_kind IF EXISTS;
