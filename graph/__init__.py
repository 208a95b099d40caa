"""Neo4j access: the driver, migrations and one module of Cypher per aggregate."""
