"""Evidence as it is stored on label edges: the examples sealed, only their shapes in clear.

A detector keeps up to two sample values per label so that someone allowed to read the column
can check what it saw. Each finding on a ``LABELED`` or ``CANDIDATE_LABEL`` edge is its summary
(score, hits, detail, the examples' shapes: ``4**************1``) plus ``sealed``: the values
as read, AES-256-GCM encrypted with the sample keyring (core/sample_cipher.py, one cipher for
samples on Kafka and at rest) and bound to column, label and detector, so a block copied onto
another edge does not open. Evidence stored before examples were sealed has shapes only and
keeps them: nothing can recover the values, so ``sealed`` stays absent until a scan sees the
column again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import orjson

from core.events import SealedSamples
from core.sample_cipher import SampleCipher, UnreadableSamples
from ml.detectors import Evidence, Tier

log = logging.getLogger("datawave.classify")


def _context(column: str, label: str, detector: str) -> str:
    return f"evidence {column} {label} {detector}"


def stored(
    evidence: Evidence, cipher: SampleCipher | None, column: str, label: str
) -> dict[str, object]:
    """The finding as an edge stores it; without a cipher (or examples) only shapes."""
    summary = evidence.summary()
    if cipher is None or evidence.masked or not evidence.examples:
        return summary
    plain = orjson.dumps(list(evidence.examples))
    block = cipher.seal_bytes(plain, _context(column, label, evidence.detector))
    return summary | {"sealed": block.model_dump()}


def examples(
    summary: Mapping[str, Any], cipher: SampleCipher | None, column: str, label: str
) -> list[str] | None:
    """The stored examples in clear; None when only shapes were stored or the block does not
    open (its key left the keyring, or it was moved from another edge)."""
    block = summary.get("sealed")
    if not block or cipher is None:
        return None
    try:
        context = _context(column, label, summary["detector"])
        return orjson.loads(cipher.open_bytes(SealedSamples(**block), context))
    except UnreadableSamples as err:
        log.warning("evidence examples of %s %s stay masked: %s", column, label, err)
        return None


def restored(
    summary: Mapping[str, Any], cipher: SampleCipher | None, column: str, label: str
) -> Evidence:
    """A stored finding back as ``Evidence``, its examples in clear where they open."""
    clear = examples(summary, cipher, column, label)
    tier = summary.get("tier")
    return Evidence(
        summary["detector"],
        summary["score"],
        summary.get("detail", ""),
        summary.get("hits", 0),
        summary.get("total", 0),
        tuple(summary.get("examples", ()) if clear is None else clear),
        Tier(tier) if tier else None,
        masked=clear is None,
    )
