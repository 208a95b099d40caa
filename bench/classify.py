"""Column classification measured honestly: held-out locales and naming styles, decoys, Presidio.

    .venv/bin/python -m bench.classify [--per-kind 20] [--samples 30]

The estate (``ml/evalset.py``) has ten Faker locales and five naming styles. Fitting uses the
estate of seed 1, evaluation the estate of seed 2, and each held-out figure refits the model
without the group it scores:

- in-distribution: fitted on every locale and style (the packaged model's set-up);
- leave-one-locale-out: for each locale, fitted on the other nine, scored on that locale;
- leave-one-style-out: for each naming style, fitted on the other four, scored on that style;
- values only: every held-out column renamed ``col_N`` (names and tables withheld).

A label counts at ``suggested`` (confidence >= 0.9) and, separately, at ``review`` (>= 0.5).
Presidio analyzes the same samples of the same columns (the same spaCy pipeline, the column
name's words as context); a column gets an entity's label when Presidio finds it on at least a
share of its samples, the share tuned for Presidio on the fitting estate. Throughput is
columns/s of each over the whole held-out estate, in one process, one after the other.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace

import spacy
from presidio_analyzer import AnalyzerEngine, BatchAnalyzerEngine
from presidio_analyzer.nlp_engine import SpacyNlpEngine

from ml.classifier import Classifier, build_classifier
from ml.detectors import Evidence
from ml.detectors.names import words
from ml.detectors.ner import PIPELINES, load_pipeline, pipeline_id
from ml.evalset import LOCALES, STYLES, LabeledColumn, generate
from ml.model import fit
from ml.taxonomy import BUILTIN
from ml.training import EVAL_SEED, TRAIN_SEED, Report, default_model, examples, metrics

ENTITIES = {
    "PERSON": "PII.PersonName",
    "EMAIL_ADDRESS": "PII.Email",
    "PHONE_NUMBER": "PII.Phone",
    "LOCATION": "PII.PostalAddress",
    "DATE_TIME": "PII.DateOfBirth",
    "US_SSN": "PII.NationalId",
    "UK_NINO": "PII.NationalId",
    "US_ITIN": "PII.NationalId",
    "US_PASSPORT": "PII.Passport",
    "IP_ADDRESS": "PII.IPAddress",
    "CREDIT_CARD": "PCI.CardNumber",
    "IBAN_CODE": "PCI.BankAccount",
    "US_BANK_NUMBER": "PCI.BankAccount",
    "UK_NHS": "PHI.MedicalRecordNumber",
}
SHARES = (0.1, 0.2, 0.3, 0.5, 0.7)
PROSE_WORDS = 5
SUGGESTED, REVIEW = 0.9, 0.5
Found = list[dict[str, list[Evidence]]]


def presidio_engine() -> BatchAnalyzerEngine:
    """Presidio on the same installed spaCy pipeline (never downloaded)."""
    name = next(p for p in PIPELINES if spacy.util.is_package(p))
    nlp_engine = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": name}])
    nlp_engine.load()
    return BatchAnalyzerEngine(AnalyzerEngine(nlp_engine=nlp_engine, supported_languages=["en"]))


def presidio_counts(
    engine: BatchAnalyzerEngine, columns: Sequence[LabeledColumn]
) -> list[Counter[str]]:
    """Per column: on how many samples each of our labels was found."""
    found = []
    for c in columns:
        results = engine.analyze_iterator(
            list(c.column.samples), language="en", context=words(c.column.name)
        )
        counts: Counter[str] = Counter()
        for sample, per_sample in zip(c.column.samples, results, strict=True):
            labels = {ENTITIES[r.entity_type] for r in per_sample if r.entity_type in ENTITIES}
            # Prose with any personal entity is what our PII.FreeText means: grant it Presidio too.
            if per_sample and len(sample.split()) >= PROSE_WORDS:
                labels.add("PII.FreeText")
            counts.update(labels)
        found.append(counts)
    return found


def presidio_predict(
    counts: list[Counter[str]], columns: Sequence[LabeledColumn], share: float
) -> list[set[str]]:
    return [
        {label for label, n in c.items() if n >= share * len(col.column.samples)}
        for c, col in zip(counts, columns, strict=True)
    ]


def refit(classifier: Classifier, train: Sequence[LabeledColumn], found: Found) -> Classifier:
    """A classifier with the same detectors and a model fitted on ``train`` only."""
    model = fit(examples(classifier, train, found))
    return Classifier(classifier.taxonomy.values(), classifier.detectors, model, classifier.floors)


def confidences(classifier: Classifier, found: Found) -> list[dict[str, float]]:
    return [{s.label: s.confidence for s in col} for col in classifier.score_evidence(found)]


def held_out(
    classifier: Classifier,
    train: Sequence[LabeledColumn],
    train_found: Found,
    test: Sequence[LabeledColumn],
    test_found: Found,
    group: Callable[[LabeledColumn], str],
    groups: Sequence[str],
) -> list[dict[str, float]]:
    """Each test column scored by a model fitted without its group."""
    scored: list[dict[str, float]] = [{} for _ in test]
    for g in groups:
        keep = [i for i, c in enumerate(train) if group(c) != g]
        model = refit(classifier, [train[i] for i in keep], [train_found[i] for i in keep])
        rows = [i for i, c in enumerate(test) if group(c) == g]
        for i, conf in zip(rows, confidences(model, [test_found[i] for i in rows]), strict=True):
            scored[i] = conf
    return scored


def at(scored: list[dict[str, float]], threshold: float) -> list[set[str]]:
    return [{label for label, c in col.items() if c >= threshold} for col in scored]


def decoy_rate(test: Sequence[LabeledColumn], predicted: list[set[str]]) -> float:
    decoys = [p for c, p in zip(test, predicted, strict=True) if not c.labels]
    return sum(bool(p) for p in decoys) / max(1, len(decoys))


def values_only(classifier: Classifier, test: Sequence[LabeledColumn], found: Found) -> Found:
    """The same evidence from values; name and semantic evidence of anonymous columns."""
    renamed = [
        replace(c.column, name=f"col_{i}", table=f"t_{i}", description="")
        for i, c in enumerate(test)
    ]
    fresh: Found = [{} for _ in test]
    for detector in classifier.detectors:
        if detector.name not in ("name", "semantic"):
            continue
        for per_label, column in zip(fresh, detector.detect(renamed), strict=True):
            for label, ev in column.items():
                per_label.setdefault(label, []).append(ev)
    merged: Found = []
    for old, new in zip(found, fresh, strict=True):
        per_label = {
            label: [e for e in evs if e.detector not in ("name", "semantic")]
            for label, evs in old.items()
        }
        for label, evs in new.items():
            per_label.setdefault(label, []).extend(evs)
        merged.append({k: v for k, v in per_label.items() if v})
    return merged


def row(*cells: str) -> str:
    return "| " + " | ".join(cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-kind", type=int, default=20)
    parser.add_argument("--samples", type=int, default=30)
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # Presidio logs every recognizer it skips

    labels = [label.name for label in BUILTIN]
    train = generate(TRAIN_SEED, args.per_kind, args.samples)
    test = generate(EVAL_SEED, args.per_kind, args.samples)
    truth = [c.labels for c in test]

    classifier = build_classifier(BUILTIN, default_model())
    engine = presidio_engine()
    classifier.score([c.column for c in test[:20]])  # warm both up: first calls load lazily
    presidio_counts(engine, test[:5])

    started = time.perf_counter()
    test_found = classifier.evidence([c.column for c in test])
    classifier.score_evidence(test_found)
    ours_s = time.perf_counter() - started
    started = time.perf_counter()
    counts = presidio_counts(engine, test)
    theirs_s = time.perf_counter() - started
    train_found = classifier.evidence([c.column for c in train])

    train_counts = presidio_counts(engine, train)
    share = max(
        SHARES,
        key=lambda s: (
            metrics(
                [c.labels for c in train], presidio_predict(train_counts, train, s), labels
            ).macro_f1
        ),
    )
    theirs = presidio_predict(counts, test, share)
    theirs_report = metrics(truth, theirs, labels)

    everything = refit(classifier, train, train_found)
    splits: dict[str, list[dict[str, float]]] = {
        "in-distribution (fitted on all locales and styles)": confidences(everything, test_found),
        "leave-one-locale-out": held_out(
            classifier, train, train_found, test, test_found, lambda c: c.locale, LOCALES
        ),
        "leave-one-naming-style-out": held_out(
            classifier, train, train_found, test, test_found, lambda c: c.style, STYLES
        ),
        "values only (every column named col_N)": confidences(
            everything, values_only(classifier, test, test_found)
        ),
    }

    n = len(test)
    decoys = sum(not c.labels for c in test)
    print(
        f"held-out estate: {n} columns ({decoys} decoys) x {args.samples} samples, seed "
        f"{EVAL_SEED}; fitting estate seed {TRAIN_SEED}; {len(LOCALES)} locales, "
        f"{len(STYLES)} naming styles"
    )
    print(f"spaCy pipeline: {pipeline_id(load_pipeline())}; Presidio share threshold {share}")
    print()
    table = [
        row("split", "macro-F1 suggested", "macro-F1 review", "decoys labeled (sugg./rev.)"),
        row("---", "---:", "---:", "---:"),
    ]
    reports: dict[str, Report] = {}
    for name, scored in splits.items():
        sugg, rev = at(scored, SUGGESTED), at(scored, REVIEW)
        reports[name] = metrics(truth, sugg, labels)
        table.append(
            row(
                name,
                f"{reports[name].macro_f1:.3f}",
                f"{metrics(truth, rev, labels).macro_f1:.3f}",
                f"{decoy_rate(test, sugg):.1%} / {decoy_rate(test, rev):.1%}",
            )
        )
    table.append(
        row(
            "Presidio (same samples)",
            f"{theirs_report.macro_f1:.3f}",
            "",
            f"{decoy_rate(test, theirs):.1%}",
        )
    )
    print("\n".join(table))
    print()

    lolo, lolo_name = reports["leave-one-locale-out"], "leave-one-locale-out"
    per = [row("label", f"DataWave P/R/F1 ({lolo_name}, suggested)", "Presidio P/R/F1")]
    per.append(row("---", "---:", "---:"))
    for label in labels:
        a, b = lolo.per_label[label], theirs_report.per_label[label]
        per.append(
            row(
                label,
                f"{a.precision:.2f} / {a.recall:.2f} / {a.f1:.2f}",
                f"{b.precision:.2f} / {b.recall:.2f} / {b.f1:.2f}",
            )
        )
    print("\n".join(per))
    print()

    for name, groups, key in (
        ("locale", LOCALES, lambda c: c.locale),
        ("naming-style", STYLES, lambda c: c.style),
    ):
        split, cells = splits[f"leave-one-{name}-out"], []
        for g in groups:
            rows = [i for i, c in enumerate(test) if key(c) == g]
            report = metrics(
                [truth[i] for i in rows], at([split[i] for i in rows], SUGGESTED), labels
            )
            present = [m.f1 for m in report.per_label.values() if m.support]
            cells.append(f"{g} {sum(present) / max(1, len(present)):.3f}")
        print(
            f"held-out {name}, macro-F1 at suggested over the labels present: " + ", ".join(cells)
        )
    print()

    speed = (n / ours_s) / (n / theirs_s)
    gain = lolo.macro_f1 - theirs_report.macro_f1
    worst = min(
        reports["leave-one-locale-out"].macro_f1, reports["leave-one-naming-style-out"].macro_f1
    )
    decoy = max(
        decoy_rate(test, at(splits[s], SUGGESTED))
        for s in ("leave-one-locale-out", "leave-one-naming-style-out")
    )
    print(f"columns/s: DataWave {n / ours_s:.1f}, Presidio {n / theirs_s:.1f}")
    print(f"held-out macro-F1 at suggested {worst:.3f} (>= 0.90): {verdict(worst >= 0.9)}")
    print(f"gain over Presidio {gain:+.3f} (>= +0.25): {verdict(gain >= 0.25)}")
    print(f"decoys labeled at suggested {decoy:.1%} (<= 2%): {verdict(decoy <= 0.02)}")
    print(f"throughput {speed:.1f}x Presidio (>= 10x): {verdict(speed >= 10)}")


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


if __name__ == "__main__":
    main()
