"""Field masking: what a caller sees of a sensitive column's values, by the masking policy.

A column is sensitive when a label of sensitivity ``confidential`` or ``restricted`` is on it
(any status but ``rejected``: a suggestion is enough to protect it). The masking policy in force
(governance/masking.py keeps it current in every process) decides, per label, how a caller sees
the values: ``clear``, ``redact`` (a fixed marker), ``partial`` (the value's shape: first and
last character, other letters and digits starred) or ``hash`` (a keyed HMAC, so equal values
stay comparable without being reversible by a dictionary of guesses). The first rule that
matches a label decides for it, else the policy's default; a column with several sensitive
labels shows as the strictest of their decisions.

The shipped default (``shipped``) is the rule DataWave always had: holders of ``pii:read`` in
the column's scope see values in clear, everyone else by the strategy configured for the
sensitivity (``DATAWAVE_MASKING__*``). Deciding is pure and in-process: no query, no OPA call.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from core.settings import MaskingSettings

REDACTED = "[redacted]"
# Sensitivities that mask, least to most sensitive; ``public`` and ``internal`` never do.
SENSITIVE = ("confidential", "restricted")
PII_READ = "pii:read"


class Treatment(StrEnum):
    """How a caller sees a value, least to most strict."""

    CLEAR = "clear"
    PARTIAL = "partial"
    HASH = "hash"
    REDACT = "redact"


STRICTNESS = tuple(Treatment)


def strictest(treatments: Iterable[Treatment]) -> Treatment:
    return max(treatments, key=STRICTNESS.index)


@dataclass(frozen=True)
class Label:
    """A label on a column, as masking matches it."""

    name: str
    category: str
    sensitivity: str | None

    @classmethod
    def of(cls, name: str, sensitivity: str | None, category: str | None = None) -> Label:
        """Its category as stored, else as the taxonomy names it (``PII`` of ``PII.Email``)."""
        return cls(name, category or name.split(".", 1)[0], sensitivity)


@dataclass(frozen=True)
class Caller:
    """Who reads a column: their roles, whether they hold a permission in the column's scope
    (asked only when a rule names one), and the column's domains."""

    roles: frozenset[str]
    holds: Callable[[str], bool]
    domains: frozenset[str] = frozenset()


@dataclass(frozen=True)
class MaskingRule:
    """Conditions that all must hold (an empty one matches anything) and the treatment."""

    treatment: Treatment
    labels: frozenset[str] = frozenset()  # label names or categories
    sensitivity: str | None = None
    roles: frozenset[str] = frozenset()  # any of them
    permission: str | None = None  # held in the column's scope
    domain: str | None = None  # the column is in it

    def matches(self, label: Label, caller: Caller) -> bool:
        return (
            (not self.labels or bool({label.name, label.category} & self.labels))
            and self.sensitivity in (None, label.sensitivity)
            and (not self.roles or bool(self.roles & caller.roles))
            and (self.domain is None or self.domain in caller.domains)
            and (self.permission is None or caller.holds(self.permission))
        )

    @property
    def condition(self) -> tuple[object, ...]:
        """What it matches: two rules with the same condition are one rule or a conflict."""
        return (self.labels, self.sensitivity, self.roles, self.permission, self.domain)


@dataclass(frozen=True)
class MaskingPolicy:
    """Ordered rules and a default; ``version`` 0 is the shipped default."""

    rules: tuple[MaskingRule, ...]
    default: Treatment
    version: int = 0

    def decide(self, labels: Iterable[Label], caller: Caller) -> Treatment | None:
        """How ``caller`` sees a column with ``labels``; None if no label masks."""
        decisions = [
            next((r.treatment for r in self.rules if r.matches(label, caller)), self.default)
            for label in labels
            if label.sensitivity in SENSITIVE
        ]
        return strictest(decisions) if decisions else None

    def exposure(self, labels: Iterable[Label], callers: Iterable[Caller]) -> dict[str, str]:
        """Per sensitivity, the least strict way any of ``callers`` sees a column with
        ``labels`` (compliance asks how it shows to those without need, e.g. GDPR Art. 32). A
        sensitivity the column has no label of is judged on a label of that sensitivity alone,
        so every sensitivity has an answer."""
        callers = list(callers)
        shown = {}
        for sensitivity in SENSITIVE:
            held = [label for label in labels if label.sensitivity == sensitivity]
            held = held or [Label("", "", sensitivity)]
            treatments = [self.decide(held, caller) or Treatment.CLEAR for caller in callers]
            shown[sensitivity] = min(treatments, key=STRICTNESS.index, default=Treatment.REDACT)
        return {sensitivity: treatment.value for sensitivity, treatment in shown.items()}


def shipped(cfg: MaskingSettings) -> MaskingPolicy:
    """Today's rule as a policy: ``pii:read`` in scope sees clear, others by sensitivity."""
    return MaskingPolicy(
        rules=(
            MaskingRule(Treatment.CLEAR, permission=PII_READ),
            MaskingRule(Treatment(cfg.confidential.value), sensitivity="confidential"),
            MaskingRule(Treatment(cfg.restricted.value), sensitivity="restricted"),
        ),
        default=Treatment.REDACT,
    )


def partial(value: str) -> str:
    """The shape of a value: ``alice@example.com`` -> ``a****@*******.**m``."""
    if len(value) <= 4:
        return "*" * len(value)
    inner = "".join("*" if ch.isalnum() else ch for ch in value[1:-1])
    return value[0] + inner + value[-1]


class Masker:
    """Applies treatments with the process's hash key, and holds the masking policy in force:
    the shipped default until governance/masking.py loads the active version."""

    def __init__(self, cfg: MaskingSettings) -> None:
        self._key = cfg.hash_key.get_secret_value().encode()
        self.shipped = shipped(cfg)
        self.policy = self.shipped

    def use(self, policy: MaskingPolicy | None) -> None:
        """Put ``policy`` in force in this process (None: the shipped default)."""
        self.policy = policy or self.shipped

    def apply(self, value: str, treatment: Treatment) -> str:
        if treatment is Treatment.CLEAR:
            return value
        if treatment is Treatment.PARTIAL:
            return partial(value)
        if treatment is Treatment.HASH:
            digest = hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()
            return "hmac:" + digest[:16]
        return REDACTED
