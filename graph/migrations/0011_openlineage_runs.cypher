// OpenLineage runs are merged by URN on every event (graph/runs.py): without this a batch
// scans every :Run, and a graph holds hundreds of thousands of them.
CREATE CONSTRAINT run_urn IF NOT EXISTS FOR (n:Run) REQUIRE n.urn IS UNIQUE;
