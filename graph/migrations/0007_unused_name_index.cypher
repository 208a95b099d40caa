// No query looks assets up by name under the :Asset label (the catalog sorts in the page
// query, analysts match :Column or :Table), yet every asset write kept this index current: a
// second index entry per column beside column_name (docs/benchmarks.md, Ingest).
DROP INDEX asset_name IF EXISTS;
