"""The classifier: run every detector over a batch of columns, then calibrate per label.

Detectors are batched (one spaCy ``pipe`` and one embedding call per batch); the combination
is the fitted ``Model``, and evidence comes first: when a column's values pass a validator
overwhelmingly (``Evidence.tier``), the confidence is at least that tier's floor, whatever the
column's name. Names and descriptions raise a confidence further; they never gate it. Results
carry each signal's contribution and a readable explanation, which the graph stores on the
``LABELED`` edge.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from ml.detectors import ColumnInput, Detector, Evidence, Tier
from ml.detectors.names import NameDetector
from ml.detectors.ner import NerDetector, load_pipeline
from ml.detectors.patterns import PatternDetector
from ml.detectors.semantic import SemanticDetector, load_encoder
from ml.model import DETECTORS, Model
from ml.taxonomy import LabelDef


def features_of(evidence: Sequence[Evidence]) -> dict[str, float]:
    """The model's view of evidence: one score per detector."""
    return {e.detector: e.score for e in evidence}


FLOORS = {Tier.SPECIFIC: 0.95, Tier.STRICT: 0.7}


@dataclass(frozen=True)
class LabelScore:
    """A label's confidence and where it came from: each detector's share of the model's
    log-odds (``contributions``, with ``bias``) and the evidence floor, if the values alone
    were overwhelming. ``confidence`` is the larger of the model's and the floor."""

    label: str
    confidence: float
    evidence: tuple[Evidence, ...]
    model_confidence: float = 0.0
    contributions: Mapping[str, float] = field(default_factory=dict)
    bias: float = 0.0
    floor: Tier | None = None

    @property
    def features(self) -> dict[str, float]:
        return features_of(self.evidence)

    @property
    def method(self) -> str:
        """The detectors that fired, in a fixed order: ``pattern+name``."""
        fired = {e.detector for e in self.evidence if e.score > 0}
        return "+".join(d for d in DETECTORS if d in fired)

    def signals(self) -> list[dict[str, object]]:
        """Every signal with its score and what it added, in the model's order, then the
        bias and the floor: what the API and the graph show as the contributions."""
        scores = self.features
        rows: list[dict[str, object]] = [
            {
                "signal": d,
                "score": round(scores.get(d, 0.0), 3),
                "contribution": round(self.contributions.get(d, 0.0), 2),
            }
            for d in DETECTORS
        ]
        rows.append({"signal": "bias", "score": 1.0, "contribution": round(self.bias, 2)})
        if self.floor:
            rows.append({"signal": f"floor:{self.floor.value}", "score": 1.0, "contribution": 0.0})
        return rows

    def contribution(self) -> str:
        """What drove the score, short enough for Neo4j Browser's inspector: the signals that
        moved the log-odds, largest first, the bias, the model's confidence and the floor if
        it decided: ``pattern +8.1, semantic +0.1, bias -6.9 = 0.78; floor:specific = 0.95``."""
        moved = sorted(
            ((d, c) for d, c in self.contributions.items() if round(c, 1)), key=lambda x: -abs(x[1])
        )
        terms = [f"{d} {c:+.1f}" for d, c in moved] + [f"bias {self.bias:+.1f}"]
        text = ", ".join(terms) + f" = {self.model_confidence:.2f}"
        if self.floor and self.confidence > self.model_confidence:
            text += f"; floor:{self.floor.value} = {self.confidence:.2f}"
        return text

    def explanation(self, model: str) -> str:
        scores = self.features
        terms = [
            f"{d} {scores.get(d, 0.0):.2f} {self.contributions.get(d, 0.0):+.1f}" for d in DETECTORS
        ]
        text = (
            f"{self.label} at {self.confidence:.2f} by model {model}: "
            + "; ".join(terms)
            + f"; bias {self.bias:+.1f} -> {self.model_confidence:.2f}"
        )
        if self.floor and self.confidence > self.model_confidence:
            text += f"; values alone ({self.floor.value} validator) -> {self.confidence:.2f}"
        parts = [
            f"{e.detector}: {e.detail}"
            + (f" in {e.hits}/{e.total} samples" if e.total > 1 else "")
            + (f" (e.g. {', '.join(e.shapes())})" if e.examples else "")
            for e in sorted(self.evidence, key=lambda e: -e.score)
        ]
        return text + ". Evidence: " + "; ".join(parts)


ColumnScores = list[LabelScore]


class Classifier:
    def __init__(
        self,
        taxonomy: Sequence[LabelDef],
        detectors: Sequence[Detector],
        model: Model,
        floors: Mapping[Tier, float] = FLOORS,
    ):
        self.taxonomy = {label.name: label for label in taxonomy}
        self.detectors = tuple(detectors)
        self.model = model
        self.floors = dict(floors)

    def evidence(self, columns: Sequence[ColumnInput]) -> list[dict[str, list[Evidence]]]:
        """Per column, per label, what each detector found."""
        found: list[dict[str, list[Evidence]]] = [{} for _ in columns]
        for detector in self.detectors:
            for per_label, column in zip(found, detector.detect(columns), strict=True):
                for label, ev in column.items():
                    if label in self.taxonomy:
                        per_label.setdefault(label, []).append(ev)
        return found

    def judge(self, label: str, evidence: Sequence[Evidence]) -> LabelScore:
        """The model's confidence, raised to the floor of the strongest validator tier."""
        params = self.model.params(label)
        features = features_of(evidence)
        model_confidence = params.confidence(features)
        tiers = [e.tier for e in evidence if e.tier]
        floor = min(tiers, key=list(Tier).index) if tiers else None
        confidence = max(model_confidence, self.floors[floor] if floor else 0.0)
        return LabelScore(
            label,
            confidence,
            tuple(evidence),
            model_confidence,
            params.contributions(features),
            params.bias,
            floor,
        )

    def score_evidence(self, found: Sequence[dict[str, list[Evidence]]]) -> list[ColumnScores]:
        return [
            sorted(
                (self.judge(label, evs) for label, evs in per_label.items()),
                key=lambda s: -s.confidence,
            )
            for per_label in found
        ]

    def score(self, columns: Sequence[ColumnInput]) -> list[ColumnScores]:
        """Every label with some evidence, most confident first."""
        return self.score_evidence(self.evidence(columns))


def build_classifier(
    taxonomy: Sequence[LabelDef],
    model: Model,
    *,
    today: date | None = None,
    spacy_pipeline: str | None = None,
    max_samples: int = 50,
    evidence_share: float = 0.9,
    evidence_min_samples: int = 5,
    floors: Mapping[Tier, float] = FLOORS,
) -> Classifier:
    """Load the spaCy pipeline and the embedding model (seconds): do it once per process."""
    detectors: list[Detector] = [
        PatternDetector(
            taxonomy, today or date.today(), max_samples, evidence_share, evidence_min_samples
        ),
        NerDetector(
            load_pipeline(spacy_pipeline),
            evidence_share=evidence_share,
            evidence_min_samples=evidence_min_samples,
        ),
        SemanticDetector(load_encoder(), taxonomy),
        NameDetector(taxonomy),
    ]
    return Classifier(taxonomy, detectors, model, floors)
