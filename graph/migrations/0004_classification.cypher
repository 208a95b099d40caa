// Classification (graph/labels.py, graph/anomalies.py): the model registry, the review queue,
// anomalies and the profile baselines anomalies are measured against.
CREATE CONSTRAINT classifiermodel_id IF NOT EXISTS FOR (n:ClassifierModel) REQUIRE n.id IS UNIQUE;
CREATE INDEX labeled_status IF NOT EXISTS FOR ()-[r:LABELED]-() ON (r.status);
CREATE CONSTRAINT anomaly_id IF NOT EXISTS FOR (n:Anomaly) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT profilesnapshot_urn IF NOT EXISTS FOR (n:ProfileSnapshot) REQUIRE n.urn IS UNIQUE;
CREATE INDEX anomaly_table IF NOT EXISTS FOR (n:Anomaly) ON (n.table);
