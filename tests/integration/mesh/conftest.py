"""The API under a real uvicorn, as the GraphQL tests serve it (tests/integration/graphql)."""

from tests.integration.graphql.conftest import api, served  # noqa: F401  (fixtures)
