"""The mesh tests' world (flow.py), on the session's served API
(tests/integration/conftest.py)."""

from tests.integration.mesh.flow import mesh  # noqa: F401  (fixture)
