// A page of a schema's tables (graph/catalog.py) starts from an index on the tables' schema
// URN, which the writers keep beside the schema's CONTAINS edge, and by name reads them in the
// index's order: it expanded and sorted every table of the schema (18,000 at 10^6 columns,
// 48 ms for the first page; 5 ms through the index) and counted them through the edges
// (25 ms; 18 ms through the second index). A table never moves between schemas (its URN
// names the schema). The backfill commits in batches (graph/migrations/__init__.py).
MATCH (s:Schema)-[:CONTAINS]->(t:Table) WHERE t.schemaUrn IS NULL
CALL (s, t) {
  SET t.schemaUrn = s.urn
} IN TRANSACTIONS OF 10000 ROWS;
CREATE RANGE INDEX table_schema_name IF NOT EXISTS FOR (t:Table) ON (t.schemaUrn, t.name);
CREATE RANGE INDEX table_schema_kind IF NOT EXISTS FOR (t:Table) ON (t.schemaUrn, t.kind);
