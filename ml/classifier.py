"""The classifier: run every detector over a batch of columns, then calibrate per label.

Detectors are batched (one spaCy ``pipe`` and one embedding call per batch); the combination
is the fitted ``Model``. Results carry the evidence and a human-readable explanation, which
the graph stores on the ``LABELED`` edge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from ml.detectors import ColumnInput, Detector, Evidence
from ml.detectors.names import NameDetector
from ml.detectors.ner import NerDetector, load_pipeline
from ml.detectors.patterns import PatternDetector
from ml.detectors.semantic import SemanticDetector, load_encoder
from ml.model import DETECTORS, Model
from ml.taxonomy import LabelDef


def features_of(evidence: Sequence[Evidence]) -> dict[str, float]:
    """The model's view of evidence: one score per detector."""
    return {e.detector: e.score for e in evidence}


@dataclass(frozen=True)
class LabelScore:
    label: str
    confidence: float
    evidence: tuple[Evidence, ...]

    @property
    def features(self) -> dict[str, float]:
        return features_of(self.evidence)

    @property
    def method(self) -> str:
        """The detectors that fired, in a fixed order: ``pattern+name``."""
        fired = {e.detector for e in self.evidence if e.score > 0}
        return "+".join(d for d in DETECTORS if d in fired)

    def explanation(self, model: str) -> str:
        parts = [
            f"{e.detector}: {e.detail}"
            + (f" in {e.hits}/{e.total} samples" if e.total > 1 else "")
            + (f" (e.g. {', '.join(e.examples)})" if e.examples else "")
            for e in sorted(self.evidence, key=lambda e: -e.score)
        ]
        return f"{self.label} at {self.confidence:.2f} by model {model}: " + "; ".join(parts)


ColumnScores = list[LabelScore]


class Classifier:
    def __init__(self, taxonomy: Sequence[LabelDef], detectors: Sequence[Detector], model: Model):
        self.taxonomy = {label.name: label for label in taxonomy}
        self.detectors = tuple(detectors)
        self.model = model

    def evidence(self, columns: Sequence[ColumnInput]) -> list[dict[str, list[Evidence]]]:
        """Per column, per label, what each detector found."""
        found: list[dict[str, list[Evidence]]] = [{} for _ in columns]
        for detector in self.detectors:
            for per_label, column in zip(found, detector.detect(columns), strict=True):
                for label, ev in column.items():
                    if label in self.taxonomy:
                        per_label.setdefault(label, []).append(ev)
        return found

    def score(self, columns: Sequence[ColumnInput]) -> list[ColumnScores]:
        """Every label with some evidence, most confident first."""
        return [
            sorted(
                (
                    LabelScore(label, self.model.confidence(label, features_of(evs)), tuple(evs))
                    for label, evs in per_label.items()
                ),
                key=lambda s: -s.confidence,
            )
            for per_label in self.evidence(columns)
        ]


def build_classifier(
    taxonomy: Sequence[LabelDef],
    model: Model,
    *,
    today: date | None = None,
    spacy_pipeline: str | None = None,
    max_samples: int = 50,
) -> Classifier:
    """Load the spaCy pipeline and the embedding model (seconds): do it once per process."""
    detectors: list[Detector] = [
        PatternDetector(taxonomy, today or date.today(), max_samples),
        NerDetector(load_pipeline(spacy_pipeline)),
        SemanticDetector(load_encoder(), taxonomy),
        NameDetector(taxonomy),
    ]
    return Classifier(taxonomy, detectors, model)
