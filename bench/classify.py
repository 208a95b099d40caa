"""Column classification, DataWave against Microsoft Presidio, on the same held-out estate.

    .venv/bin/python -m bench.classify [--per-kind 12] [--samples 30]

Both see the same columns and samples (Faker, en_US/en_GB/de_DE/fr_FR, decoys included) and
run on the same spaCy pipeline. Presidio analyzes every sample (batched through spaCy's
``pipe``) with the column name as context; a column gets an entity's label when it is found on
at least a share of the samples, the share tuned for Presidio on the training estate. Prints
per-label precision/recall/F1, macro-F1 and columns/s, and the ratios to the targets.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections import Counter
from collections.abc import Sequence

import spacy
from presidio_analyzer import AnalyzerEngine, BatchAnalyzerEngine
from presidio_analyzer.nlp_engine import SpacyNlpEngine

from ml.classifier import Classifier, build_classifier
from ml.detectors.names import words
from ml.detectors.ner import PIPELINES, load_pipeline, pipeline_id
from ml.evalset import LabeledColumn, generate
from ml.taxonomy import BUILTIN
from ml.training import EVAL_SEED, TRAIN_SEED, default_model, metrics

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


def datawave_predict(classifier: Classifier, columns: Sequence[LabeledColumn]) -> list[set[str]]:
    scores = classifier.score([c.column for c in columns])
    return [{s.label for s in col if s.confidence >= 0.5} for col in scores]


def row(*cells: str) -> str:
    return "| " + " | ".join(cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-kind", type=int, default=12)
    parser.add_argument("--samples", type=int, default=30)
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # Presidio logs every recognizer it skips

    labels = [label.name for label in BUILTIN]
    train = generate(TRAIN_SEED, args.per_kind, args.samples)
    held_out = generate(EVAL_SEED, args.per_kind, args.samples)
    truth = [c.labels for c in held_out]

    classifier = build_classifier(BUILTIN, default_model())
    engine = presidio_engine()
    datawave_predict(classifier, held_out[:20])  # warm both up: first calls load lazily
    presidio_counts(engine, held_out[:5])

    started = time.perf_counter()
    ours = datawave_predict(classifier, held_out)
    ours_s = time.perf_counter() - started
    started = time.perf_counter()
    counts = presidio_counts(engine, held_out)
    theirs_s = time.perf_counter() - started

    train_counts = presidio_counts(engine, train)
    share = max(
        SHARES,
        key=lambda s: (
            metrics(
                [c.labels for c in train], presidio_predict(train_counts, train, s), labels
            ).macro_f1
        ),
    )
    theirs = presidio_predict(counts, held_out, share)

    ours_report = metrics(truth, ours, labels)
    theirs_report = metrics(truth, theirs, labels)
    covered = sorted(set(ENTITIES.values()) | {"PII.FreeText"})
    ours_cov = metrics(truth, ours, covered).macro_f1
    theirs_cov = metrics(truth, theirs, covered).macro_f1
    n = len(held_out)
    print(f"held-out estate: {n} columns x {args.samples} samples, seed {EVAL_SEED}")
    print(f"spaCy pipeline: {pipeline_id(load_pipeline())}; Presidio share threshold {share}")
    print()
    rows = [row("label", "DataWave F1", "Presidio F1", "DataWave P/R", "Presidio P/R")]
    rows.append(row(*["---"] + ["---:"] * 4))
    for label in labels:
        a, b = ours_report.per_label[label], theirs_report.per_label[label]
        pr = [f"{m.precision:.2f}/{m.recall:.2f}" for m in (a, b)]
        rows.append(row(label, f"{a.f1:.2f}", f"{b.f1:.2f}", *pr))
    macro = (f"**{ours_report.macro_f1:.3f}**", f"**{theirs_report.macro_f1:.3f}**")
    rows.append(row(f"**macro-F1, all {len(labels)} labels**", *macro, "", ""))
    cov = (f"{ours_cov:.3f}", f"{theirs_cov:.3f}")
    rows.append(row(f"macro-F1, the {len(covered)} labels Presidio covers", *cov, "", ""))
    rows.append(row("**columns/s**", f"**{n / ours_s:.1f}**", f"**{n / theirs_s:.1f}**", "", ""))
    print("\n".join(rows))
    print()
    gain = ours_report.macro_f1 - theirs_report.macro_f1
    speed = (n / ours_s) / (n / theirs_s)
    print(f"macro-F1 gain {gain:+.3f} (target >= +0.10): {'met' if gain >= 0.10 else 'NOT met'}")
    print(f"throughput {speed:.1f}x Presidio (target >= 5x): {'met' if speed >= 5 else 'NOT met'}")


if __name__ == "__main__":
    main()
