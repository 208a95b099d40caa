"""A version's lifecycle: draft -> published -> deprecated -> retired, semantic versions, and
what blocks each step."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mesh import lifecycle
from mesh.errors import Incompatible, MeshError, WrongState
from mesh.lifecycle import Status, Step, Version


def test_steps_go_one_way_from_draft_to_retired() -> None:
    assert lifecycle.after(Step.PUBLISH, Status.DRAFT) is Status.PUBLISHED
    assert lifecycle.after(Step.DEPRECATE, Status.PUBLISHED) is Status.DEPRECATED
    assert lifecycle.after(Step.RETIRE, Status.DEPRECATED) is Status.RETIRED
    for step, status in [
        (Step.PUBLISH, Status.PUBLISHED),
        (Step.RETIRE, Status.PUBLISHED),  # deprecate first: consumers get a notice
        (Step.DEPRECATE, Status.DRAFT),
        (Step.PUBLISH, Status.RETIRED),
    ]:
        with pytest.raises(WrongState):
            lifecycle.after(step, status)


def test_versions_are_semantic_and_new_ones_are_higher() -> None:
    assert Version("1.10.0") > Version("1.9.3")
    assert lifecycle.check_new_version("2.0.0", ["1.0.0", "1.4.2"]) == Version("2.0.0")
    for bad in ("1.0", "v1.0.0", "01.0.0", "1.0.0-rc1", "1.0.0\n"):
        with pytest.raises(MeshError, match="semantic version"):
            Version(bad)
    with pytest.raises(MeshError, match=r"not higher than the latest, 1\.4\.2"):
        lifecycle.check_new_version("1.4.0", ["1.0.0", "1.4.2"])


def test_a_breaking_change_needs_a_new_major_version() -> None:
    breaking = ["orders.total: column removed"]
    with pytest.raises(Incompatible) as refused:
        lifecycle.check_publish("1.1.0", None, "1.0.0", breaking)
    assert refused.value.changes == breaking
    lifecycle.check_publish("2.0.0", None, "1.0.0", breaking)
    lifecycle.check_publish("1.1.0", None, "1.0.0", [])
    lifecycle.check_publish("1.0.0", None, None, [])


def test_quarantine_blocks_publishing_and_consumers_block_retiring() -> None:
    with pytest.raises(WrongState, match="quarantined: orders rowCount"):
        lifecycle.check_publish("1.0.0", "orders rowCount = 0 fails", None, [])
    with pytest.raises(WrongState, match="2 consumer"):
        lifecycle.check_retire("1.0.0", 2)
    lifecycle.check_retire("1.0.0", 0)


def test_a_consumer_behind_the_latest_published_version_has_to_migrate() -> None:
    published = ["1.0.0", "1.1.0", "2.0.0"]
    assert lifecycle.migration("1.1.0", False, published) is lifecycle.Migration.BEHIND
    assert lifecycle.migration("2.0.0", True, published) is lifecycle.Migration.MIGRATED
    assert lifecycle.migration("2.0.0", False, published) is lifecycle.Migration.CURRENT
    assert lifecycle.migration("1.0.0", False, []) is lifecycle.Migration.CURRENT


def test_a_binding_moves_forward_to_a_published_version_only() -> None:
    lifecycle.check_migration("1.0.0", "2.0.0", lifecycle.Status.PUBLISHED)
    with pytest.raises(WrongState):
        lifecycle.check_migration("1.0.0", "2.0.0", lifecycle.Status.DRAFT)
    with pytest.raises(MeshError, match=r"not newer than 1\.1\.0"):
        lifecycle.check_migration("1.1.0", "1.0.0", lifecycle.Status.PUBLISHED)


def test_who_is_told_of_a_step() -> None:
    assert lifecycle.notice_of(Step.DEPRECATE, "1.0.0", "use 2.0.0") == "use 2.0.0"
    assert lifecycle.notice_of(Step.PUBLISH, "2.0.0", None) == (
        "version 2.0.0 is published, a new major version: migrate to it"
    )
    assert lifecycle.notice_of(Step.PUBLISH, "0.9.0", None) is None  # no older major
    assert lifecycle.notice_of(Step.RETIRE, "1.0.0", "gone") is None


def test_a_sunset_is_a_moment_to_come() -> None:
    now = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    lifecycle.check_sunset(None, now)
    lifecycle.check_sunset(now + timedelta(days=1), now)
    for refused in (now, now - timedelta(seconds=1), datetime(2027, 1, 1)):
        with pytest.raises(MeshError) as caught:
            lifecycle.check_sunset(refused, now)
        assert caught.value.field == "sunset"
