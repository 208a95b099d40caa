"""Expected refusals of the data-mesh workflows: each names the argument at fault, if one is.

The resolvers turn them into typed payload errors (resolvers/mesh/errors.py); nothing is
written when one is raised (every step checks before its one transaction).
"""

from __future__ import annotations


class MeshError(Exception):
    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(MeshError):
    """The URN (``field``) names nothing, or nothing the caller may see."""


class Duplicate(MeshError):
    """The name is taken."""


class WrongState(MeshError):
    """The step does not apply where the entity stands (archived domain, retired version)."""


class SelfApproval(MeshError):
    """Four eyes: the requester of an access cannot decide it."""


class InvalidContract(MeshError):
    """The ODCS document is not valid; ``field`` is the path of the bad field."""


class Incompatible(MeshError):
    """A version breaks its predecessor's contract without a new major version."""

    def __init__(self, message: str, changes: list[str]) -> None:
        super().__init__(message, "version")
        self.changes = changes


class NonCompliant(MeshError):
    """Open high or critical findings on what the product exposes block publishing."""

    def __init__(self, message: str, findings: list[str]) -> None:
        super().__init__(message, "version")
        self.findings = findings


class StreamFailed(MeshError):
    """Kafka refused the stream port's topic; the product stays a draft, with the reason."""


class PolicyViolation(MeshError):
    """The governance engine's rules in force refuse the step; ``rules`` name them."""

    def __init__(self, message: str, rules: list[str]) -> None:
        super().__init__(message, "policy")
        self.rules = rules


class PolicyUnavailable(MeshError):
    """The policy engine did not answer while rules are in force: the step is not done."""
