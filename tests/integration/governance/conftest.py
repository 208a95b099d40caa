"""The API under a real uvicorn, as the GraphQL tests serve it (tests/integration/graphql), and
the governed world of these tests (flow.py)."""

from tests.integration.governance.flow import world  # noqa: F401  (fixture)
from tests.integration.graphql.conftest import api, served  # noqa: F401  (fixtures)
