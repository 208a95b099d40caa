// The `text` filter of asset pages (graph/catalog.py) tests lower-cased copies of an asset's
// name and description that the writers keep, behind TEXT indexes: a page of one source's
// columns filtered by text read every column of the source (1.1 s at 10^6 columns, 0.1 s with
// these; docs/benchmarks.md, issue 17). `descriptionLower` is the curated description, else
// the discovered one. The backfill commits in batches (graph/migrations/__init__.py).
MATCH (a:Asset) WHERE a.name IS NOT NULL
CALL (a) {
  SET a.nameLower = toLower(a.name),
      a.descriptionLower = toLower(coalesce(a.curatedDescription, a.description))
} IN TRANSACTIONS OF 10000 ROWS;
CREATE TEXT INDEX column_name_lower IF NOT EXISTS FOR (n:Column) ON (n.nameLower);
CREATE TEXT INDEX column_description_lower IF NOT EXISTS FOR (n:Column) ON (n.descriptionLower);
CREATE TEXT INDEX table_name_lower IF NOT EXISTS FOR (n:Table) ON (n.nameLower);
CREATE TEXT INDEX table_description_lower IF NOT EXISTS FOR (n:Table) ON (n.descriptionLower);
