// Data mesh (graph/mesh.py, graph/products.py, graph/access.py): domains and teams found by URN
// as well as by name, product versions (:Contract) by URN, stream ports and access requests by
// their keys.
CREATE CONSTRAINT domain_urn IF NOT EXISTS FOR (n:Domain) REQUIRE n.urn IS UNIQUE;
CREATE CONSTRAINT team_urn IF NOT EXISTS FOR (n:Team) REQUIRE n.urn IS UNIQUE;
CREATE CONSTRAINT contract_urn IF NOT EXISTS FOR (n:Contract) REQUIRE n.urn IS UNIQUE;
CREATE CONSTRAINT streamport_key IF NOT EXISTS FOR (n:StreamPort) REQUIRE n.key IS UNIQUE;
CREATE CONSTRAINT accessrequest_id IF NOT EXISTS FOR (n:AccessRequest) REQUIRE n.id IS UNIQUE;
// Domains and teams that existed before they were managed get the URN they are found by
// (names that need no percent-encoding; others get theirs when mesh/ next writes them).
MATCH (n:Domain) WHERE n.urn IS NULL AND n.name =~ '[A-Za-z0-9._~-]+'
SET n.urn = 'urn:dw:domain:' + n.name;
MATCH (n:Team) WHERE n.urn IS NULL AND n.name =~ '[A-Za-z0-9._~-]+'
SET n.urn = 'urn:dw:team:' + n.name;
