// Governance (graph/models.py, graph/compliance.py): policies, their versions and rules, rule
// sets, waivers (neomodel's unique properties), frameworks, controls and findings.
CREATE CONSTRAINT policy_urn IF NOT EXISTS FOR (n:Policy) REQUIRE n.urn IS UNIQUE;
CREATE CONSTRAINT policyversion_key IF NOT EXISTS FOR (n:PolicyVersion) REQUIRE n.key IS UNIQUE;
CREATE CONSTRAINT rule_key IF NOT EXISTS FOR (n:Rule) REQUIRE n.key IS UNIQUE;
CREATE CONSTRAINT ruleset_version IF NOT EXISTS FOR (n:RuleSet) REQUIRE n.version IS UNIQUE;
CREATE CONSTRAINT waiver_id IF NOT EXISTS FOR (n:Waiver) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT framework_urn IF NOT EXISTS FOR (n:Framework) REQUIRE n.urn IS UNIQUE;
CREATE CONSTRAINT control_urn IF NOT EXISTS FOR (n:Control) REQUIRE n.urn IS UNIQUE;
CREATE CONSTRAINT finding_urn IF NOT EXISTS FOR (n:Finding) REQUIRE n.urn IS UNIQUE;
// Findings are listed by status and framework, and re-evaluation reads an asset's findings.
CREATE INDEX finding_status IF NOT EXISTS FOR (n:Finding) ON (n.status);
CREATE INDEX finding_asset IF NOT EXISTS FOR (n:Finding) ON (n.asset);
CREATE INDEX compliancescore_at IF NOT EXISTS FOR (n:ComplianceScore) ON (n.framework, n.at);
