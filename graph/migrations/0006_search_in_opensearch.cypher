// Catalog search lives in OpenSearch (app/search.py), so the full-text index over every asset
// (0001) is unused; keeping it current cost ingest a fifth of Neo4j's write time, one Lucene
// document per column (docs/benchmarks.md).
DROP INDEX asset_text IF EXISTS;
