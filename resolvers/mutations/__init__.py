"""Mutation resolvers, one module per area; each returns a payload with typed ``errors``."""
