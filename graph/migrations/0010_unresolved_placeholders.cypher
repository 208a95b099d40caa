// Placeholders written before they were labelled :Unresolved (graph/assets.py): a table no
// schema contains, a column no table has. No scan found them; asset lists and counts skip them
// and lineage flags their edges. A later discovery removes the label.
MATCH (t:Table) WHERE NOT t:Unresolved AND NOT EXISTS { (:Schema)-[:CONTAINS]->(t) }
SET t:Unresolved;
MATCH (c:Column) WHERE NOT c:Unresolved AND NOT EXISTS { (:Table)-[:HAS_COLUMN]->(c) }
SET c:Unresolved;
