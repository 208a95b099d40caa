"""Column-name heuristics: keyword phrases from the taxonomy found among the name's words.

``FirstName``, ``first_name`` and MongoDB's ``name.first`` all read as {first, name}. Words
that describe metadata about a value (``email_verified``, ``phone_count``, ``created_at``)
mean the column is not the value itself, so they cut the score.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from ml.detectors import ColumnEvidence, ColumnInput, Evidence
from ml.taxonomy import LabelDef

CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
MODIFIER_WORDS = (
    "id ids count type status flag is has verified valid enabled at ts length format version "
    "changed updated created masked mask encrypted last4 optin consent domain provider country"
)
MODIFIER_PENALTY = 0.2


def words(name: str) -> list[str]:
    """Lower-case ASCII words of a column name, singular where a trailing s is a plural."""
    text = unicodedata.normalize("NFKD", CAMEL.sub(" ", name)).encode("ascii", "ignore").decode()
    raw = [w for w in re.split(r"[^A-Za-z0-9]+", text.lower()) if w]
    return [w[:-1] if len(w) > 4 and w.endswith("s") and not w.endswith("ss") else w for w in raw]


MODIFIERS = frozenset(words(MODIFIER_WORDS))


class NameDetector:
    name = "name"

    def __init__(self, taxonomy: Sequence[LabelDef]):
        self.phrases = {
            label.name: [
                (frozenset(words(k)), k.replace("_", ""), w) for k, w in label.keywords.items()
            ]
            for label in taxonomy
        }

    def detect(self, columns: Sequence[ColumnInput]) -> list[ColumnEvidence]:
        return [self._column(c.name) for c in columns]

    def _column(self, name: str) -> ColumnEvidence:
        tokens = words(name)
        present = set(tokens) | {"".join(tokens)}
        matches = {}
        for label, phrases in self.phrases.items():
            hits = [(w, len(p), k, p) for p, k, w in phrases if p <= present or k in present]
            if hits:
                matches[label] = max(hits, key=lambda h: h[:2])
        # The most specific reading wins: "ip_address" is an IP address, not a postal one.
        longest = max((m[1] for m in matches.values()), default=0)
        found: ColumnEvidence = {}
        for label, (weight, n, keyword, parts) in matches.items():
            if n < longest:
                continue
            # "national_id" is the id itself; "email_verified" is about an email.
            penalty = MODIFIER_PENALTY if (set(tokens) - parts) & MODIFIERS else 1.0
            detail = f"column name {name!r} reads as {keyword!r}"
            if penalty < 1:
                detail += " (qualified by a metadata word)"
            found[label] = Evidence(self.name, weight * penalty, detail, 1, 1)
        return found
