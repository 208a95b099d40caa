"""Subscription resolvers (graphql-transport-ws), fed by the broadcast hub (app/broadcast.py)."""
