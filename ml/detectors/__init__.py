"""Detectors look at one batch of columns and return, per column, evidence for labels.

Every detector is a plain object with ``detect(columns) -> list[dict[label, Evidence]]``; the
classifier turns the evidence into features and one calibrated confidence per label.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


@dataclass(frozen=True)
class ColumnInput:
    """What classification sees of a column: metadata and a bounded set of raw samples."""

    urn: str
    name: str
    data_type: str = ""
    table: str = ""
    description: str = ""
    samples: tuple[str, ...] = ()


class Tier(StrEnum):
    """What a column proves when nearly all its samples pass a validator, whatever its name:
    ``specific`` (checksums, strict syntax: Luhn + issuer range, mod-97, e-mail, IP) is enough
    to suggest; ``strict`` (plausible but shared with other data: birth dates, handles, names,
    addresses) is enough for review."""

    SPECIFIC = "specific"
    STRICT = "strict"


@dataclass(frozen=True)
class Evidence:
    """One detector's finding for one label: a score in [0, 1] and why. ``examples`` are
    sample values as read (``masked``: only their shapes were kept, as in evidence stored
    before examples were sealed); they are stored sealed (ml/evidence.py), and what is
    written in clear (``summary``, the explanation) holds their shapes only. ``tier`` is set
    when the column as a whole passed a validator of that tier."""

    detector: str
    score: float
    detail: str
    hits: int = 0
    total: int = 0
    examples: tuple[str, ...] = field(default=())
    tier: Tier | None = None
    masked: bool = False

    def shapes(self) -> list[str]:
        """The examples' shapes: what may be written in clear."""
        return list(self.examples) if self.masked else [mask(x) for x in self.examples]

    def summary(self) -> dict[str, object]:
        return {
            "detector": self.detector,
            "score": round(self.score, 3),
            "hits": self.hits,
            "total": self.total,
            "detail": self.detail,
            "examples": self.shapes(),
        } | ({"tier": self.tier.value} if self.tier else {})


ColumnEvidence = dict[str, Evidence]


class Detector(Protocol):
    name: str

    def detect(self, columns: Sequence[ColumnInput]) -> list[ColumnEvidence]: ...


def mask(value: str) -> str:
    """Keep the shape of a value, not its content: the first and last character at most."""
    text = value.strip().replace("\n", " ")[:40]
    if len(text) <= 4:
        return "*" * len(text)
    return text[0] + "".join("*" if ch.isalnum() else ch for ch in text[1:-1]) + text[-1]
