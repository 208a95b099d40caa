// The audit trail (app/audit.py, graph/audit.py): one node per event, found by who and what.
CREATE CONSTRAINT auditevent_id IF NOT EXISTS FOR (n:AuditEvent) REQUIRE n.id IS UNIQUE;
CREATE INDEX auditevent_actor IF NOT EXISTS FOR (n:AuditEvent) ON (n.actor);
CREATE INDEX auditevent_resource IF NOT EXISTS FOR (n:AuditEvent) ON (n.resource);
CREATE INDEX auditevent_request IF NOT EXISTS FOR (n:AuditEvent) ON (n.requestId);
