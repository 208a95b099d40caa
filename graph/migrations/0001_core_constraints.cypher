// Identity: every catalogued thing is found by its URN; labels and domains by name.
CREATE CONSTRAINT asset_urn IF NOT EXISTS FOR (n:Asset) REQUIRE n.urn IS UNIQUE;
CREATE CONSTRAINT datasource_urn IF NOT EXISTS FOR (n:DataSource) REQUIRE n.urn IS UNIQUE;
CREATE CONSTRAINT schemaversion_urn IF NOT EXISTS FOR (n:SchemaVersion) REQUIRE n.urn IS UNIQUE;
CREATE CONSTRAINT dataproduct_urn IF NOT EXISTS FOR (n:DataProduct) REQUIRE n.urn IS UNIQUE;
CREATE CONSTRAINT label_name IF NOT EXISTS FOR (n:Label) REQUIRE n.name IS UNIQUE;
CREATE CONSTRAINT domain_name IF NOT EXISTS FOR (n:Domain) REQUIRE n.name IS UNIQUE;
CREATE CONSTRAINT job_urn IF NOT EXISTS FOR (n:Job) REQUIRE n.urn IS UNIQUE;
CREATE CONSTRAINT scan_id IF NOT EXISTS FOR (n:Scan) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT migration_id IF NOT EXISTS FOR (n:Migration) REQUIRE n.id IS UNIQUE;
// Lookups the catalog and analysts do often.
CREATE INDEX asset_name IF NOT EXISTS FOR (n:Asset) ON (n.name);
CREATE INDEX table_kind IF NOT EXISTS FOR (n:Table) ON (n.kind);
CREATE INDEX column_name IF NOT EXISTS FOR (n:Column) ON (n.name);
CREATE INDEX datasource_name IF NOT EXISTS FOR (n:DataSource) ON (n.name);
CREATE INDEX auditevent_at IF NOT EXISTS FOR (n:AuditEvent) ON (n.at);
CREATE FULLTEXT INDEX asset_text IF NOT EXISTS FOR (n:Asset) ON EACH [n.name, n.description];
