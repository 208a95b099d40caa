"""The calibrated model: per-label logistic regression over detector scores.

Weights are constrained to be non-negative, so more evidence from any detector can never lower
a confidence (monotonic by construction); the L2 penalty keeps probabilities calibrated rather
than saturated on a separable training estate. Labels added by configuration, which the
model has not seen, use the mean of the fitted labels' parameters.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from scipy.optimize import minimize

DETECTORS = ("pattern", "ner", "semantic", "name")
# Products of two detector scores let agreement count for more than the sum of its parts (a
# 3-digit code is a CVV when the name says so too); scores are >= 0, so they stay monotonic.
PAIRS = tuple((a, b) for i, a in enumerate(DETECTORS) for b in DETECTORS[i + 1 :])
L2 = 0.05  # on the summed log-loss; 0.05 was best calibrated (ECE) on the held-out estate


@dataclass(frozen=True)
class Example:
    """One (column, label) pair: detector scores, the truth, and how much it counts."""

    label: str
    features: Mapping[str, float]
    positive: bool
    weight: float = 1.0


def design(scores: Mapping[str, float]) -> list[float]:
    """The model's inputs: each detector's score, then each pair's product."""
    base = [scores.get(d, 0.0) for d in DETECTORS]
    return base + [scores.get(a, 0.0) * scores.get(b, 0.0) for a, b in PAIRS]


@dataclass(frozen=True)
class Params:
    weights: tuple[float, ...]
    bias: float

    def confidence(self, scores: Mapping[str, float]) -> float:
        z = self.bias + float(np.dot(self.weights, design(scores)))
        return 1 / (1 + math.exp(-z))

    def contributions(self, scores: Mapping[str, float]) -> dict[str, float]:
        """What each detector adds to the log-odds: its own term plus half of each pair it is
        in. They sum with the bias to the logit of ``confidence``."""
        terms = [w * x for w, x in zip(self.weights, design(scores), strict=True)]
        out = dict(zip(DETECTORS, terms[: len(DETECTORS)], strict=True))
        for (a, b), term in zip(PAIRS, terms[len(DETECTORS) :], strict=True):
            out[a] += term / 2
            out[b] += term / 2
        return out


@dataclass(frozen=True)
class Model:
    labels: Mapping[str, Params]
    meta: Mapping[str, object] = field(default_factory=dict)

    @cached_property
    def fallback(self) -> Params:
        fitted = list(self.labels.values())
        weights = np.mean([p.weights for p in fitted], axis=0)
        return Params(tuple(float(w) for w in weights), float(np.mean([p.bias for p in fitted])))

    def params(self, label: str) -> Params:
        return self.labels.get(label) or self.fallback

    def confidence(self, label: str, features: Mapping[str, float]) -> float:
        return self.params(label).confidence(features)

    def to_json(self) -> str:
        labels = {k: {"weights": list(p.weights), "bias": p.bias} for k, p in self.labels.items()}
        return json.dumps({"detectors": DETECTORS, "labels": labels, "meta": dict(self.meta)})

    @classmethod
    def from_json(cls, text: str) -> Model:
        doc = json.loads(text)
        if tuple(doc["detectors"]) != DETECTORS:
            raise ValueError(f"model was fitted on detectors {doc['detectors']}, not {DETECTORS}")
        labels = {k: Params(tuple(v["weights"]), v["bias"]) for k, v in doc["labels"].items()}
        return cls(labels, doc.get("meta", {}))


def _fit_one(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> Params:
    """Weighted L2-penalised logistic regression with weights >= 0 (L-BFGS-B bounds)."""

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        z = x @ theta[:-1] + theta[-1]
        p = 1 / (1 + np.exp(-z))
        eps = 1e-12
        nll = -np.sum(w * (y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps)))
        grad_z = w * (p - y)
        grad = np.append(x.T @ grad_z + 2 * L2 * theta[:-1], grad_z.sum())
        return nll + L2 * float(theta[:-1] @ theta[:-1]), grad

    start = np.append(np.ones(x.shape[1]), -2.0)
    bounds = [(0, None)] * x.shape[1] + [(None, None)]
    theta = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds).x
    return Params(tuple(float(t) for t in theta[:-1]), float(theta[-1]))


def fit(examples: Sequence[Example], meta: Mapping[str, object] | None = None) -> Model:
    """One logistic model per label present among positive examples."""
    by_label: dict[str, list[Example]] = {}
    for e in examples:
        by_label.setdefault(e.label, []).append(e)
    labels = {}
    for label, rows in sorted(by_label.items()):
        if not any(r.positive for r in rows):
            continue
        x = np.array([design(r.features) for r in rows])
        y = np.array([1.0 if r.positive else 0.0 for r in rows])
        labels[label] = _fit_one(x, y, np.array([r.weight for r in rows]))
    return Model(labels, dict(meta or {}))
