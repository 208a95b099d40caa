"""Query resolvers, one module per area."""
