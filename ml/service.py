"""Classification against the graph: the functions the API, the CLI and the consumer call.

``open_service`` loads the taxonomy, the registry's active model and the detectors once;
``classify_urn`` classifies a table or column on demand; ``classify_columns`` is the batch path
of the Kafka consumer. CPU work runs in a thread so the event loop keeps serving.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from neo4j import AsyncDriver

from core.sample_cipher import SampleCipher
from core.urns import Urn
from graph import labels as graph_labels
from graph.sources import source_known
from ml.classifier import Classifier, ColumnScores, LabelScore, build_classifier
from ml.detectors import ColumnInput, Evidence, Tier
from ml.evidence import restored, stored
from ml.model import Example, Model
from ml.settings import ClassifierSettings
from ml.taxonomy import LabelDef, load_taxonomy
from ml.training import default_model, fit_model

log = logging.getLogger("datawave.classifier")


class UnknownAsset(LookupError):
    """No live table or column has this URN."""


class UnknownSource(LookupError):
    """No source of this name is registered or has columns: re-scoring "its" columns would
    re-score none and look like success (``str()`` is the name)."""


@dataclass
class ClassificationService:
    driver: AsyncDriver
    database: str
    cfg: ClassifierSettings
    classifier: Classifier
    model_id: str
    # Seals the evidence examples written to the graph; None: only their shapes are stored.
    cipher: SampleCipher | None = None

    def status(self, confidence: float) -> graph_labels.Status | None:
        if confidence >= self.cfg.suggest_at:
            return "suggested"
        return "review" if confidence >= self.cfg.review_floor else None

    def _evidence(self, column: str, score: LabelScore) -> list[dict[str, object]]:
        return [stored(e, self.cipher, column, score.label) for e in score.evidence]

    def rows(self, column: ColumnInput, scores: ColumnScores) -> graph_labels.ColumnLabels:
        labels = [
            graph_labels.LabelRow(
                s.label,
                round(s.confidence, 4),
                status,
                s.method,
                self._evidence(column.urn, s),
                s.explanation(self.model_id),
                s.features,
                self.model_id,
                s.signals(),
                s.contribution(),
            )
            for s in scores
            if (status := self.status(s.confidence))
        ]
        candidates = [
            graph_labels.Candidate(
                s.label,
                round(s.confidence, 4),
                s.explanation(self.model_id),
                s.signals(),
                self.model_id,
                self._evidence(column.urn, s),
                s.contribution(),
                s.features,
            )
            for s in scores
            if self.cfg.candidate_floor <= s.confidence < self.cfg.review_floor
        ]
        return graph_labels.ColumnLabels(
            column.urn, column.name, Urn.parse(column.urn).source, labels, candidates
        )

    async def classify_columns(
        self,
        columns: Sequence[ColumnInput],
        at: datetime | None = None,
        *,
        keep_stronger: bool = False,
    ) -> list[graph_labels.ColumnLabels]:
        """Score a batch and write its labels; returns what was written per column.
        ``keep_stronger``: a machine label already there with a higher confidence stays as it
        is (on-demand classification sees less than a scan did)."""
        if not columns:
            return []
        rows = await self.score_columns(columns)
        if keep_stronger:
            before = await graph_labels.machine_labels(
                self.driver, self.database, [c.urn for c in columns]
            )
            rows = [stronger(row, before.get(row.urn, {})) for row in rows]
        await graph_labels.apply_labels(self.driver, self.database, rows, at or datetime.now(UTC))
        return rows

    async def score_columns(
        self, columns: Sequence[ColumnInput]
    ) -> list[graph_labels.ColumnLabels]:
        """Score a batch: the labels of each column, not yet written (the classification
        consumer writes them in the transaction that checks their scans, ml/consumer.py)."""
        if not columns:
            return []
        scores = await asyncio.to_thread(self.classifier.score, columns)
        return [self.rows(c, s) for c, s in zip(columns, scores, strict=True)]

    async def classify_urn(
        self, urn: str, samples: Mapping[str, Sequence[str]] | None = None
    ) -> list[graph_labels.ColumnLabels]:
        """Classify a table's columns (or one column) as they are in the graph.

        The graph keeps no samples: pass ``samples`` (column URN -> values) when the caller has
        them (ml/resample.py reads them from the source); otherwise min and max from the
        profile stand in, and confidence is lower. Either
        way a machine label that had stronger evidence stays, and steward decisions stand.
        """
        rows = await graph_labels.columns_to_classify(self.driver, self.database, urn)
        if not rows:
            raise UnknownAsset(urn)
        columns = [
            ColumnInput(
                r["urn"],
                r["name"],
                r["dataType"],
                r["table"],
                r["description"],
                tuple((samples or {}).get(r["urn"]) or (v for v in (r["min"], r["max"]) if v)),
            )
            for r in rows
        ]
        return await self.classify_columns(columns, keep_stronger=True)

    async def refit(self) -> dict[str, object]:
        """Fit on the generated estate plus stewards' decisions; register as the next version."""
        feedback = [
            Example(r["label"], r["features"], r["positive"])
            for r in await graph_labels.steward_feedback(self.driver, self.database)
        ]
        model = await asyncio.to_thread(fit_model, self.classifier, feedback)
        registered = await graph_labels.register_model(
            self.driver, self.database, self.cfg.registry, model_props(model)
        )
        self.classifier.model = model
        self.model_id = registered["id"]
        return registered

    async def use_active_model(self) -> bool:
        """Load the registry's active model if it is not the one in use (another process may
        have fitted or activated one); True when it changed."""
        active = await graph_labels.active_model(
            self.driver, self.database, self.cfg.registry, model_props(default_model())
        )
        if active["id"] == self.model_id:
            return False
        self.classifier.model = Model.from_json(active["params"])
        self.model_id = active["id"]
        return True

    async def reevaluate(
        self, source: str | None = None, *, everything: bool = False
    ) -> Reevaluation:
        """Re-score the evidence stored on machine labels and candidates with the current
        model, on the columns another model scored (``everything``: all of them, e.g. to seal
        examples again after a key rotation), of one source or all; write what changed. Steward
        decisions are not read, so they stand. ``UnknownSource`` if the graph knows no such
        source."""
        if source is not None and not await source_known(self.driver, self.database, source):
            raise UnknownSource(source)
        stored = await graph_labels.stored_evidence(
            self.driver, self.database, source, None if everything else self.model_id
        )
        columns: dict[str, tuple[str, dict[str, tuple[str, list[Evidence]]]]] = {}
        for r in stored:
            _, labels = columns.setdefault(r["urn"], (r["name"], {}))
            evidence = [restored(e, self.cipher, r["urn"], r["label"]) for e in r["evidence"]]
            labels[r["label"]] = (r["status"], evidence)
        previous = sorted({r["model"] for r in stored if r["model"]})
        rows, report = [], Reevaluation(self.model_id, list(columns), previous)
        for urn, (name, labels) in columns.items():
            scores = sorted(
                (self.classifier.judge(label, evs) for label, (_, evs) in labels.items()),
                key=lambda s: -s.confidence,
            )
            row = self.rows(ColumnInput(urn, name), scores)
            now = {x.label: x.status for x in row.labels} | {
                k.label: "candidate" for k in row.candidates
            }
            report.add(urn, {label: status for label, (status, _) in labels.items()}, now)
            rows.append(row)
        at, size = datetime.now(UTC), self.cfg.batch_size
        for start in range(0, len(rows), size):  # a transaction per batch; a rerun resumes
            await graph_labels.apply_labels(
                self.driver, self.database, rows[start : start + size], at
            )
        return report


def stronger(
    row: graph_labels.ColumnLabels, before: Mapping[str, graph_labels.LabelRow]
) -> graph_labels.ColumnLabels:
    """``row`` with each earlier machine label kept where it was more confident."""
    labels = {x.label: x for x in row.labels}
    for label, old in before.items():
        if label not in labels or labels[label].confidence < old.confidence:
            labels[label] = old
    candidates = [k for k in row.candidates if k.label not in labels]
    return replace(row, labels=list(labels.values()), candidates=candidates)


@dataclass
class Reevaluation:
    """What a re-evaluation changed: labels new, lost, or moved between statuses
    (``suggested``, ``review``, ``candidate``), each as ``(column urn, label, ...)``, on the
    ``scored`` columns, which the ``previous`` models had scored."""

    model: str
    scored: list[str]
    previous: list[str] = field(default_factory=list)
    new: list[tuple[str, str, str]] = field(default_factory=list)
    lost: list[tuple[str, str, str]] = field(default_factory=list)
    moved: list[tuple[str, str, str, str]] = field(default_factory=list)

    def add(self, urn: str, before: Mapping[str, str], after: Mapping[str, str]) -> None:
        for label in sorted(set(before) | set(after)):
            old, new = before.get(label), after.get(label)
            if old is None and new is not None:
                self.new.append((urn, label, new))
            elif new is None and old is not None:
                self.lost.append((urn, label, old))
            elif old != new and old is not None and new is not None:
                self.moved.append((urn, label, old, new))

    @property
    def columns(self) -> int:
        return len(self.scored)


def model_props(model: Model) -> dict[str, object]:
    return {"params": model.to_json()} | {
        k: v for k, v in model.meta.items() if isinstance(v, str | int | float)
    }


def label_rows(taxonomy: Sequence[LabelDef]) -> list[dict[str, str]]:
    return [
        {
            "name": label.name,
            "category": label.category,
            "sensitivity": label.sensitivity.value,
            "description": label.description,
        }
        for label in taxonomy
    ]


async def open_service(
    driver: AsyncDriver,
    database: str,
    cfg: ClassifierSettings | None = None,
    *,
    cipher: SampleCipher,
) -> ClassificationService:
    """Load everything once per process (a few seconds: spaCy and the embedding model);
    ``cipher`` seals the evidence examples (the sample keyring, ``DATAWAVE_KAFKA__SAMPLE_KEYS``)."""
    cfg = cfg or ClassifierSettings()
    taxonomy = load_taxonomy(cfg.taxonomy_file)
    await graph_labels.ensure_labels(driver, database, label_rows(taxonomy))
    active = await graph_labels.active_model(
        driver, database, cfg.registry, model_props(default_model())
    )
    model = Model.from_json(active["params"])
    classifier = await asyncio.to_thread(
        build_classifier,
        taxonomy,
        model,
        spacy_pipeline=cfg.spacy_pipeline,
        max_samples=cfg.max_samples,
        evidence_share=cfg.evidence_share,
        evidence_min_samples=cfg.evidence_min_samples,
        floors={Tier.SPECIFIC: cfg.specific_floor, Tier.STRICT: cfg.strict_floor},
    )
    return ClassificationService(driver, database, cfg, classifier, active["id"], cipher)


class LazyService:
    """One ClassificationService per process, loaded on first use (spaCy and the embedding
    model take seconds and hundreds of MiB, which an API replica pays only if it classifies)."""

    def __init__(self, driver: AsyncDriver, database: str, cipher: SampleCipher) -> None:
        self._driver = driver
        self._database = database
        self.cipher = cipher  # the API opens evidence examples with it, without the model
        self._service: ClassificationService | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> ClassificationService:
        async with self._lock:
            if self._service is None:
                self._service = await open_service(self._driver, self._database, cipher=self.cipher)
            return self._service

    @property
    def loaded(self) -> bool:
        return self._service is not None

    async def preload(self) -> None:
        """Load now, in the background of a starting API replica, so the first classify does
        not wait for the models; a failure is logged and that first classify tries again."""
        try:
            await self.get()
        except Exception:
            log.exception("the classifier could not be preloaded; the first classify loads it")
