// Owners are teams merged by name (graph/curation.py): one node per name.
CREATE CONSTRAINT team_name IF NOT EXISTS FOR (n:Team) REQUIRE n.name IS UNIQUE;
