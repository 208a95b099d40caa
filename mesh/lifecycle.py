"""Where a product version stands and which steps apply: pure rules, tested on their own.

A version moves draft -> published -> deprecated -> retired. Versions are semantic
(``MAJOR.MINOR.PATCH``); a new one must be higher than every other version of the product, and
one whose contract breaks the latest published version's needs a higher major. A quarantined
version (a failing quality gate) cannot be published and its grants are suspended; a version
with consumers bound to it cannot be retired.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from functools import total_ordering

from mesh.errors import Incompatible, MeshError, WrongState


class Status(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    DEPRECATED = "deprecated"
    RETIRED = "retired"


class Migration(StrEnum):
    """Where a consumer's binding stands against the product's latest published version."""

    CURRENT = "current"  # bound to the latest since its grant
    MIGRATED = "migrated"  # moved its binding to the latest
    BEHIND = "behind"  # bound to an older version: notified, not migrated yet


class GrantState(StrEnum):
    """Whether a live grant widens its team's reach now."""

    ACTIVE = "active"
    # its version is quarantined (a failing quality gate): it still binds its consumer, reaches
    # nothing, and resumes by itself when a passing gate releases the version
    SUSPENDED = "suspended"


class Step(StrEnum):
    PUBLISH = "publish"
    DEPRECATE = "deprecate"
    RETIRE = "retire"


# The status a step starts from and the one it leads to.
STEPS: dict[Step, tuple[Status, Status]] = {
    Step.PUBLISH: (Status.DRAFT, Status.PUBLISHED),
    Step.DEPRECATE: (Status.PUBLISHED, Status.DEPRECATED),
    Step.RETIRE: (Status.DEPRECATED, Status.RETIRED),
}

# Matched whole (``fullmatch``): ``$`` also matches before a final newline, which let
# "1.1.0\n" through as a version of its own (a URN ending in %0A, equal to no "1.1.0").
SEMVER = re.compile(r"(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})")


@total_ordering
class Version:
    """A semantic version without pre-release or build parts (they name no product version)."""

    def __init__(self, text: str) -> None:
        match = SEMVER.fullmatch(text)
        if match is None:
            raise MeshError(f"{text!r} is not a semantic version MAJOR.MINOR.PATCH", "version")
        self.parts = tuple(int(p) for p in match.groups())
        self.text = text

    @property
    def major(self) -> int:
        return self.parts[0]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Version) and self.parts == other.parts

    def __lt__(self, other: Version) -> bool:
        return self.parts < other.parts

    def __hash__(self) -> int:
        return hash(self.parts)

    def __str__(self) -> str:
        return self.text


def after(step: Step, current: Status) -> Status:
    """The status ``step`` leads to from ``current``, or WrongState."""
    start, end = STEPS[step]
    if current is not start:
        raise WrongState(f"{step} applies to a {start} version; this one is {current}", "step")
    return end


def check_new_version(new: str, existing: list[str]) -> Version:
    """A new version must be higher than every version the product has."""
    version = Version(new)
    if existing and version <= (top := max(Version(v) for v in existing)):
        raise MeshError(f"version {new} is not higher than the latest, {top}", "version")
    return version


def check_publish(
    version: str, quarantined: str | None, baseline: str | None, breaking: list[str]
) -> None:
    """Publishing ``version``: not while quarantined; a break of the ``baseline`` contract (the
    latest published version's) needs a higher major version."""
    if quarantined:
        raise WrongState(f"version {version} is quarantined: {quarantined}", "version")
    if baseline is not None and breaking and Version(version).major <= Version(baseline).major:
        raise Incompatible(
            f"version {version} breaks the contract of {baseline} "
            f"({len(breaking)} breaking change(s)): a breaking change needs a new major version",
            breaking,
        )


def notice_of(step: Step, version: str, notice: str | None) -> str | None:
    """What the consumers a step concerns are told (None: nobody is): a deprecation's notice
    to those bound to the version; a new major version to those bound to lower majors."""
    if step is Step.DEPRECATE:
        return notice
    if step is Step.PUBLISH and Version(version).major > 0:
        return notice or f"version {version} is published, a new major version: migrate to it"
    return None


def migration(bound: str, migrated: bool, published: list[str]) -> Migration:
    """Where a consumer bound to version ``bound`` stands, given the published versions."""
    latest = max((Version(v) for v in published), default=None)
    if latest is not None and Version(bound) < latest:
        return Migration.BEHIND
    return Migration.MIGRATED if migrated else Migration.CURRENT


def check_grantable(version: str, status: Status, quarantined: str | None) -> None:
    """Access is asked for, granted and moved to a published version only, and not while its
    quality gate holds it in quarantine (its data breaks the contract)."""
    if status is not Status.PUBLISHED:
        raise WrongState(f"version {version} is {status}, not published", "version")
    if quarantined:
        raise WrongState(f"version {version} is quarantined: {quarantined}", "version")


def check_migration(
    bound: str, target: str, status: Status, quarantined: str | None = None
) -> None:
    """A consumer moves its binding forward only, to a version access may be granted to."""
    check_grantable(target, status, quarantined)
    if Version(target) <= Version(bound):
        raise MeshError(f"version {target} is not newer than {bound}, the bound one", "version")


def check_retire(version: str, consumers: int) -> None:
    if consumers:
        raise WrongState(
            f"version {version} still has {consumers} consumer(s) bound to it", "version"
        )


def check_sunset(sunset: datetime | None, now: datetime) -> None:
    """A deprecation's sunset is a moment to come (none: not announced yet); a past one would
    tell consumers they were cut off already. The API reads a time without an offset as UTC
    (resolvers/common.py ``DateTime``); a caller that passed none is refused rather than
    guessed at."""
    if sunset is not None and sunset.tzinfo is None:
        raise MeshError("a sunset needs a UTC offset", "sunset")
    if sunset is not None and sunset <= now:
        raise MeshError(f"the sunset {sunset.isoformat()} is not in the future", "sunset")
