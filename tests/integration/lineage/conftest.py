"""The lineage tests' own PostgreSQL database, scanned, with a worker on it
(test_openlineage.py defines them; the inherited-label tests use them too)."""

from tests.integration.lineage.test_openlineage import postgres, world

__all__ = ["postgres", "world"]
