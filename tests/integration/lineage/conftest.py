"""The served API and its GraphQL clients (tests/integration/graphql/conftest.py), for the
lineage tests."""

from tests.integration.graphql.conftest import api, execute, gql_session, served, token

__all__ = ["api", "execute", "gql_session", "served", "token"]
