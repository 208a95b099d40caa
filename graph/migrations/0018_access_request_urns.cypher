// Access requests are nodes callers name by URN (`urn:dw:access:<domain>/<product>/<id>`,
// core/kinds.py; graph/access.py), refetchable through `node(id:)`. Requests made before get
// theirs from the product they ask for (its URN's segments are already percent-encoded) and
// the id they had; the id stays, as their grants and events know them by it.
CREATE CONSTRAINT accessrequest_urn IF NOT EXISTS FOR (n:AccessRequest) REQUIRE n.urn IS UNIQUE;
MATCH (r:AccessRequest)-[:FOR]->(:Contract)<-[:HAS_VERSION]-(p:DataProduct)
WHERE r.urn IS NULL
SET r.urn = 'urn:dw:access:' + substring(p.urn, size('urn:dw:product:')) + '/' + r.id;
// The `accessRequests` pages read requests oldest first.
CREATE RANGE INDEX accessrequest_requested IF NOT EXISTS FOR (n:AccessRequest) ON (n.requestedAt);
