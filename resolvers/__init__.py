"""GraphQL types and resolvers (Strawberry). Resolvers call ``graph/``; they never build Cypher."""
