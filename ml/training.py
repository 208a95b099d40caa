"""Fitting and measuring the classifier on the generated estate (and stewards' decisions).

``fit_model`` is how the packaged ``default_model.json`` was made and how ``datawave classify
fit`` makes the next registered version; ``metrics`` scores any predictor, Presidio included.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources

from ml.classifier import Classifier, build_classifier, features_of
from ml.detectors import Evidence
from ml.evalset import LabeledColumn, generate
from ml.model import Example, Model, fit
from ml.taxonomy import BUILTIN

TRAIN_SEED = 1
EVAL_SEED = 2
STEWARD_WEIGHT = 5.0  # one steward decision outweighs several generated columns


def default_model() -> Model:
    return Model.from_json(resources.files("ml").joinpath("default_model.json").read_text())


def examples(
    classifier: Classifier,
    labeled: Sequence[LabeledColumn],
    found: Sequence[dict[str, list[Evidence]]] | None = None,
) -> list[Example]:
    """One example per (column, taxonomy label): detector scores and whether it is true.
    ``found``: the columns' evidence, when already computed (cross-validation reuses it)."""
    if found is None:
        found = classifier.evidence([c.column for c in labeled])
    return [
        Example(label, features_of(per_label.get(label, [])), label in c.labels)
        for c, per_label in zip(labeled, found, strict=True)
        for label in classifier.taxonomy
    ]


def fit_model(
    classifier: Classifier, feedback: Sequence[Example] = (), seed: int = TRAIN_SEED
) -> Model:
    """Fit on the estate generated with ``seed`` plus steward feedback, weighted up."""
    weighted = [Example(e.label, e.features, e.positive, STEWARD_WEIGHT) for e in feedback]
    estate = generate(seed)
    meta = {
        "fittedAt": datetime.now(UTC).isoformat(),
        "trainingColumns": len(estate),
        "stewardExamples": len(weighted),
        "seed": seed,
    }
    return fit(examples(classifier, estate) + weighted, meta)


@dataclass(frozen=True)
class LabelMetrics:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Report:
    per_label: dict[str, LabelMetrics]

    @property
    def macro_f1(self) -> float:
        return sum(m.f1 for m in self.per_label.values()) / max(1, len(self.per_label))

    def summary(self) -> dict[str, float]:
        return {"macroF1": round(self.macro_f1, 4)} | {
            k: round(m.f1, 4) for k, m in self.per_label.items()
        }


def metrics(
    truth: Sequence[frozenset[str]], predicted: Sequence[Iterable[str]], labels: Iterable[str]
) -> Report:
    """Column-level precision, recall and F1 per label."""
    per_label = {}
    pairs = [(t, set(p)) for t, p in zip(truth, predicted, strict=True)]
    for label in labels:
        tp = sum(label in t and label in p for t, p in pairs)
        fp = sum(label not in t and label in p for t, p in pairs)
        fn = sum(label in t and label not in p for t, p in pairs)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_label[label] = LabelMetrics(precision, recall, f1, tp + fn)
    return Report(per_label)


def evaluate(
    classifier: Classifier, labeled: Sequence[LabeledColumn] | None = None, threshold: float = 0.5
) -> Report:
    """Scores on the held-out estate (another seed than training) at ``threshold``."""
    labeled = labeled if labeled is not None else generate(EVAL_SEED)
    scores = classifier.score([c.column for c in labeled])
    predicted = [[s.label for s in col if s.confidence >= threshold] for col in scores]
    return metrics([c.labels for c in labeled], predicted, classifier.taxonomy)


def main() -> None:
    """Refit the packaged model: ``python -m ml.training > ml/default_model.json``."""
    model = fit_model(build_classifier(BUILTIN, default_model()))
    print(json.dumps(json.loads(model.to_json()), indent=1))


if __name__ == "__main__":
    main()
