"""The composition root: the ASGI app, health and metrics routes, serving, GraphiQL and the CLI."""
