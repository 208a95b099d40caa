"""The governed world of these tests (flow.py), on the session's served API
(tests/integration/conftest.py)."""

from tests.integration.governance.flow import world  # noqa: F401  (fixture)
