"""The calibrated model: monotonic in every detector's score, fitted weights never negative."""

from __future__ import annotations

import itertools
import random

from ml.anomalies import TableProfile, detect
from ml.model import DETECTORS, Example, Model, fit
from ml.training import default_model, metrics

GRID = (0.0, 0.25, 0.5, 0.75, 1.0)


def test_confidence_is_monotonic_in_each_detector() -> None:
    model = default_model()
    for label in model.labels:
        for scores in itertools.product(GRID, repeat=len(DETECTORS)):
            base = dict(zip(DETECTORS, scores, strict=True))
            before = model.confidence(label, base)
            for d in DETECTORS:
                more = base | {d: min(1.0, base[d] + 0.25)}
                assert model.confidence(label, more) >= before, (label, base, d)


def test_fit_keeps_weights_non_negative_even_against_the_data() -> None:
    rng = random.Random(7)
    # "name" is anti-correlated with the truth here: the fit must zero it, not go negative.
    examples = [
        Example("X", {"pattern": p, "name": 1.0 - p}, p > 0.5)
        for p in (rng.random() for _ in range(200))
    ]
    model = fit(examples)
    assert all(w >= 0 for w in model.labels["X"].weights)
    assert model.confidence("X", {"pattern": 1.0}) > 0.9
    assert model.confidence("X", {"pattern": 0.0}) < 0.1


def test_unknown_labels_use_the_mean_parameters_and_json_round_trips() -> None:
    model = default_model()
    again = Model.from_json(model.to_json())
    assert again.labels == model.labels
    scores = {"pattern": 1.0, "name": 1.0}
    assert 0 < model.confidence("Custom.Label", scores) < 1
    assert model.params("Custom.Label") == model.fallback


def test_metrics() -> None:
    truth = [frozenset({"A"}), frozenset({"A"}), frozenset(), frozenset({"B"})]
    predicted = [["A"], [], ["A"], ["B"]]
    report = metrics(truth, predicted, ["A", "B"])
    assert report.per_label["A"].precision == 0.5
    assert report.per_label["A"].recall == 0.5
    assert report.per_label["B"].f1 == 1.0
    assert report.macro_f1 == 0.75


def profile(rows: int, nulls: float, columns: set[str], sensitive: set[str]) -> TableProfile:
    return TableProfile(
        "t", rows, {c: nulls for c in columns}, frozenset(columns), frozenset(sensitive)
    )


def test_anomalies_need_a_baseline_and_a_threshold() -> None:
    thresholds = {"null_ratio_jump": 0.2, "row_count_drop": 0.5}
    now = profile(40, 0.5, {"a", "b"}, {"b"})
    assert detect(None, now, **thresholds) == []
    kinds = {a.kind: a for a in detect(profile(100, 0.1, {"a"}, set()), now, **thresholds)}
    assert set(kinds) == {"row_count_drop", "null_ratio_jump", "new_sensitive_column"}
    assert kinds["new_sensitive_column"].subject == "b"
    assert kinds["null_ratio_jump"].subject == "a"
    quiet = detect(profile(60, 0.4, {"a", "b"}, {"b"}), now, **thresholds)
    assert quiet == []  # a 33% drop, a 0.1 rise and a known column stay under the thresholds
