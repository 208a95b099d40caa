"""Labels on columns: ``:Label`` nodes, ``LABELED`` edges, the review queue and the model registry.

Machine edges have status ``suggested`` (confidence at or above the suggestion threshold) or
``review`` (below it: the review queue). A steward's ``confirmed`` or ``rejected`` is final for
the machine: a rescan updates or withdraws machine edges only, so decisions survive, and they
are read back as training data for the next calibration.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal, LiteralString

from neo4j import AsyncDriver, AsyncManagedTransaction

from graph.domains import in_scope_by_table
from graph.driver import Record, read, write
from graph.inheritance import write_and_propagate, write_steps

MACHINE = ("suggested", "review")
# A rejection asked for by a steward who may not unmask the column alone (a second person does).
PENDING_REJECTION = "pending_rejection"
Status = Literal["suggested", "review"]
Decision = Literal["confirmed", "rejected"]

ENSURE_LABELS = """
UNWIND $rows AS row
MERGE (l:Label {name: row.name})
SET l.category = row.category, l.sensitivity = row.sensitivity, l.description = row.description
"""
# Machine edges the new evidence no longer supports are withdrawn; decided edges are skipped.
APPLY = """
UNWIND $rows AS row
MERGE (c:Asset {urn: row.urn})
ON CREATE SET c:Column, c.name = row.name, c.nameLower = toLower(row.name), c.source = row.source
WITH c, row
CALL (c, row) {
  MATCH (c)-[r:LABELED]->(l:Label)
  WHERE r.status IN $machine AND NOT l.name IN [x IN row.labels | x.label]
  DELETE r
}
WITH c, row
UNWIND row.labels AS x
MATCH (l:Label {name: x.label})
MERGE (c)-[r:LABELED]->(l)
ON CREATE SET r.status = x.status
WITH c, l, r, x, row
WHERE r.status IN $machine
SET r.status = x.status, r.confidence = x.confidence, r.method = x.method,
    r.evidence = x.evidence, r.explanation = x.explanation, r.features = x.features,
    r.contributions = x.contributions, r.contribution = x.contribution, r.model = x.model,
    r.at = row.at
RETURN c.urn AS urn, l.name AS label, r.status AS status, l.sensitivity AS sensitivity
"""
# Near-misses (``CANDIDATE_LABEL``): replaced on every classification, never where the column
# already has that label in any status, and read by nothing that masks or indexes.
CANDIDATES = """
UNWIND $rows AS row
MATCH (c:Asset {urn: row.urn})
CALL (c) {
  MATCH (c)-[k:CANDIDATE_LABEL]->(:Label)
  DELETE k
}
WITH c, row
UNWIND row.candidates AS x
MATCH (l:Label {name: x.label})
WHERE NOT (c)-[:LABELED]->(l)
CREATE (c)-[k:CANDIDATE_LABEL]->(l)
SET k.confidence = x.confidence, k.explanation = x.explanation, k.evidence = x.evidence,
    k.contributions = x.contributions, k.contribution = x.contribution, k.model = x.model,
    k.features = x.features, k.at = row.at
"""
MACHINE_LABELS = """
UNWIND $urns AS urn
MATCH (c:Column {urn: urn})-[r:LABELED]->(l:Label)
WHERE r.status IN $machine
RETURN c.urn AS urn, l.name AS label, properties(r) AS edge
"""
# What the machine last saw on each column (labels and near-misses): a new model re-scores it.
# With ``$model``, only columns something else scored (all of such a column's edges: the column
# is written back whole).
STORED_EVIDENCE = """
MATCH (c:Column)-[r:LABELED|CANDIDATE_LABEL]->(l:Label)
WHERE r.evidence IS NOT NULL AND (r:CANDIDATE_LABEL OR r.status IN $machine)
  AND ($source IS NULL OR c.source = $source)
  AND ($model IS NULL OR EXISTS {
    MATCH (c)-[s:LABELED|CANDIDATE_LABEL]->(:Label)
    WHERE (s:CANDIDATE_LABEL OR s.status IN $machine) AND s.model <> $model
  })
RETURN c.urn AS urn, c.name AS name, l.name AS label, coalesce(r.status, 'candidate') AS status,
       r.evidence AS evidence, r.model AS model
ORDER BY c.urn, l.name
"""
# The order stewards work through labels in, most confident first (a label without a
# confidence, a steward's own whose rejection waits, where DESC put null: first), and
# ``$after``, a place in it (``{rank, urn, label}`` of the last label of the previous page).
# Pages continue from that place, not from an offset: a label decided meanwhile leaves the
# list, and an offset would then skip as many of the next ones.
_RANK: LiteralString = "coalesce({edge}.confidence, 2.0)"
_AFTER: LiteralString = (
    """($after IS NULL OR _RANK < $after.rank
     OR _RANK = $after.rank
        AND (c.urn > $after.urn OR c.urn = $after.urn AND l.name > $after.label))
"""
).replace("_RANK", _RANK)
_IN_ORDER: LiteralString = """
WITH c, l, {edge}, _RANK AS rank ORDER BY rank DESC, c.urn, l.name
LIMIT $limit""".replace("_RANK", _RANK)
CANDIDATES_IN_SCOPE: LiteralString = (
    """
MATCH (c:Column)-[k:CANDIDATE_LABEL]->(l:Label)
WHERE ($source IS NULL OR c.source = $source) AND ($column IS NULL OR c.urn = $column)
  AND NOT (c)-[:LABELED]->(l) AND """
    + _AFTER.replace("{edge}", "k")
    + in_scope_by_table("c", ("c", "k", "l"))
)
CANDIDATE_LIST: LiteralString = (
    CANDIDATES_IN_SCOPE
    + _IN_ORDER.replace("{edge}", "k")
    + """
RETURN c.urn AS urn, l.name AS label, l.sensitivity AS sensitivity, properties(k) AS edge, rank
"""
)
CANDIDATE_COUNT: LiteralString = CANDIDATES_IN_SCOPE + "RETURN count(k) AS n"
# Rejecting a label of a ``$protected`` sensitivity only asks for it (``pending_rejection``,
# which masks like any label but ``rejected``) until someone allowed to unmask decides.
# ``machineStatus`` keeps what the machine had said, for a withdrawn decision to return to.
# A decided near-miss becomes the label, with what the classifier saw (confidence, evidence,
# explanation, detector scores for the next fit) and no near-miss left beside it.
DECIDE = """
MATCH (c:Column {urn: $urn}), (l:Label {name: $label})
OPTIONAL MATCH (c)-[k:CANDIDATE_LABEL]->(l)
MERGE (c)-[r:LABELED]->(l)
ON CREATE SET r += coalesce(properties(k), {}), r.method = 'steward'
DELETE k
WITH r, $decision = 'rejected' AND l.sensitivity IN $protected AS asking
SET r.machineStatus = CASE WHEN r.status IN $machine THEN r.status ELSE r.machineStatus END
SET r.status = CASE WHEN asking THEN $pending ELSE $decision END,
    r.note = $note,
    r.requestedBy = CASE WHEN asking THEN $steward ELSE r.requestedBy END,
    r.requestedAt = CASE WHEN asking THEN $at ELSE r.requestedAt END,
    r.decidedBy = CASE WHEN asking THEN r.decidedBy ELSE $steward END,
    r.decidedAt = CASE WHEN asking THEN r.decidedAt ELSE $at END
RETURN properties(r) AS edge
"""
# A withdrawn decision: the machine's label comes back as it was (``review`` if a decision
# older than ``machineStatus`` hid it), a steward's own goes; what would lift the column's
# masking (a sensitive label of the steward's own that still masks) is left when ``$protected``.
# A steward's own made of a near-miss (DECIDE kept what the classifier saw, its ``model``
# among it) is a near-miss again: deciding had taken that out of ``CANDIDATE_LABEL``.
WITHDRAW = """
MATCH (c:Column {urn: $urn})-[r:LABELED]->(l:Label {name: $label})
WHERE NOT r.status IN $machine
WITH c, r, l, r.method = 'steward' AS own,
     l.sensitivity IN $protected AND r.status <> 'rejected' AS masks
WITH c, r, l, own, own AND masks AS unmasks
WITH c, r, l, own, unmasks,
     CASE WHEN own OR unmasks THEN null ELSE coalesce(r.machineStatus, 'review') END AS restored
CALL (r, restored) {
  WITH r WHERE restored IS NOT NULL
  SET r.status = restored
  REMOVE r.machineStatus, r.note, r.decidedBy, r.decidedAt, r.requestedBy, r.requestedAt
}
CALL (c, r, l, own, unmasks) {
  WITH c, r, l WHERE own AND NOT unmasks
  CALL (c, r, l) {
    WITH c, r, l WHERE r.model IS NOT NULL
    CREATE (c)-[k:CANDIDATE_LABEL]->(l)
    SET k = r {.confidence, .explanation, .evidence, .contributions, .contribution, .model,
               .features, .at}
  }
  DELETE r
}
RETURN unmasks, restored AS status
"""
COLUMN_LABELS = """
MATCH (c:Asset {urn: $urn})-[r:LABELED]->(l:Label)
RETURN l.name AS label, l.category AS category, l.sensitivity AS sensitivity,
       properties(r) AS edge
ORDER BY r.confidence DESC, l.name
"""
# The caller's RBAC scope (``$domains``, ``$sources``) applies before paging, so pages stay
# full and reveal nothing of what is out of scope.
AWAITING: LiteralString = (
    """
MATCH (c:Column)-[r:LABELED]->(l:Label)
WHERE r.status IN $awaiting AND ($source IS NULL OR c.source = $source) AND """
    + _AFTER.replace("{edge}", "r")
    + in_scope_by_table("c", ("c", "r", "l"))
)
REVIEW_QUEUE: LiteralString = (
    AWAITING
    + _IN_ORDER.replace("{edge}", "r")
    + """
RETURN c.urn AS urn, l.name AS label, properties(r) AS edge, rank
"""
)
REVIEW_COUNT: LiteralString = AWAITING + "RETURN count(r) AS n"
FEEDBACK = """
MATCH (:Column)-[r:LABELED]->(l:Label)
WHERE r.status IN ['confirmed', 'rejected'] AND r.features IS NOT NULL
RETURN l.name AS label, r.features AS features, r.status = 'confirmed' AS positive
"""
REGISTER_MODEL = """
OPTIONAL MATCH (m:ClassifierModel {registry: $registry})
WITH coalesce(max(m.version), 0) + 1 AS version
CALL (version) {
  MATCH (old:ClassifierModel {registry: $registry, active: true})
  SET old.active = false
}
CREATE (m:ClassifierModel {id: $registry + ':' + toString(version)})
SET m += $props, m.registry = $registry, m.version = version, m.active = true,
    m.name = $registry + ' v' + toString(version)
RETURN m {.*} AS model
"""
# The packaged model becomes version 1 of an empty registry; concurrent starts MERGE the same.
BOOTSTRAP_MODEL = """
OPTIONAL MATCH (any:ClassifierModel {registry: $registry})
WITH count(any) = 0 AS empty
CALL (empty) {
  WITH empty WHERE empty
  MERGE (m:ClassifierModel {id: $registry + ':1'})
  ON CREATE SET m += $props, m.registry = $registry, m.version = 1, m.active = true,
                m.name = $registry + ' v1'
}
MATCH (a:ClassifierModel {registry: $registry, active: true})
RETURN a {.*} AS model
ORDER BY a.version DESC LIMIT 1
"""


@dataclass(frozen=True)
class LabelRow:
    """A machine label for one column, ready to write."""

    label: str
    confidence: float
    status: Status
    method: str
    evidence: list[dict[str, Any]]
    explanation: str
    features: dict[str, float]
    model: str
    contributions: list[dict[str, Any]] = field(default_factory=list)
    contribution: str = ""  # the contributions in words, for Neo4j Browser

    @classmethod
    def from_edge(cls, label: str, edge: dict[str, Any]) -> LabelRow:
        """A machine edge as it is stored, to write back unchanged."""
        return cls(
            label,
            edge["confidence"],
            edge["status"],
            edge.get("method") or "",
            json.loads(edge.get("evidence") or "[]"),
            edge.get("explanation") or "",
            json.loads(edge.get("features") or "{}"),
            edge.get("model") or "",
            json.loads(edge.get("contributions") or "[]"),
            edge.get("contribution") or "",
        )

    def params(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "confidence": self.confidence,
            "status": self.status,
            "method": self.method,
            "evidence": json.dumps(self.evidence),
            "explanation": self.explanation,
            "features": json.dumps(self.features),
            "contributions": json.dumps(self.contributions),
            "contribution": self.contribution,
            "model": self.model,
        }


@dataclass(frozen=True)
class Candidate:
    """A label that came close (below the review floor): shown to stewards, never applied."""

    label: str
    confidence: float
    explanation: str
    contributions: list[dict[str, Any]]
    model: str
    evidence: list[dict[str, Any]] = field(default_factory=list)
    contribution: str = ""
    features: dict[str, float] = field(default_factory=dict)  # kept for a steward's decision

    def params(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "confidence": self.confidence,
            "explanation": self.explanation,
            "evidence": json.dumps(self.evidence),
            "contributions": json.dumps(self.contributions),
            "contribution": self.contribution,
            "model": self.model,
            "features": json.dumps(self.features),
        }


@dataclass(frozen=True)
class ColumnLabels:
    urn: str
    name: str
    source: str
    labels: Sequence[LabelRow]
    candidates: Sequence[Candidate] = ()


async def ensure_labels(driver: AsyncDriver, database: str, rows: list[dict[str, str]]) -> None:
    """MERGE the taxonomy's ``:Label`` nodes (name, category, sensitivity, description)."""
    await write(driver, database, ENSURE_LABELS, rows=rows)


async def apply_labels(
    driver: AsyncDriver, database: str, columns: Sequence[ColumnLabels], at: datetime
) -> list[Record]:
    """Write machine labels; returns each label edge now on those columns that the machine
    wrote or a steward kept (``urn``, ``label``, ``status``, ``sensitivity``)."""
    return await write_and_propagate(
        driver, database, [c.urn for c in columns], *_apply(columns, at)
    )


async def apply_labels_in(
    tx: AsyncManagedTransaction, columns: Sequence[ColumnLabels], at: datetime
) -> list[Record]:
    """``apply_labels`` in the caller's transaction (the classifier's, ml/consumer.py)."""
    return await write_steps(tx, [c.urn for c in columns], *_apply(columns, at))


def _apply(
    columns: Sequence[ColumnLabels], at: datetime
) -> tuple[tuple[LiteralString, dict[str, Any]], ...]:
    rows = [
        {
            "urn": c.urn,
            "name": c.name,
            "source": c.source,
            "at": at,
            "labels": [label.params() for label in c.labels],
        }
        for c in columns
    ]
    candidates = [
        {"urn": c.urn, "at": at, "candidates": [k.params() for k in c.candidates]} for c in columns
    ]
    return (APPLY, {"rows": rows, "machine": list(MACHINE)}), (CANDIDATES, {"rows": candidates})


async def decide_label(
    driver: AsyncDriver,
    database: str,
    column_urn: str,
    label: str,
    decision: Decision,
    steward: str,
    at: datetime,
    note: str | None = None,
    *,
    protected: Sequence[str] = (),
) -> dict[str, Any] | None:
    """A steward confirms or rejects a label (creating the edge if the machine had none); a
    rejection of a label whose sensitivity is ``protected`` becomes ``pending_rejection``.
    Returns the edge's properties, or None when the column or label does not exist."""
    params = {
        "urn": column_urn,
        "label": label,
        "decision": decision,
        "steward": steward,
        "at": at,
        "note": note,
        "protected": list(protected),
        "pending": PENDING_REJECTION,
        "machine": list(MACHINE),
    }
    rows = await write_and_propagate(driver, database, [column_urn], (DECIDE, params))
    return rows[0]["edge"] if rows else None


@dataclass(frozen=True)
class Place:
    """Where a page of the review queue or of the candidates ended: the last label's ``rank``
    (its confidence), column and name; the next page starts after it."""

    rank: float
    urn: str
    label: str


@dataclass(frozen=True)
class Withdrawn:
    """What withdrawing a decision did: ``unmasks`` (refused, it would lift the masking) or
    ``status``, the machine's status back on the edge (None: the steward's label went)."""

    unmasks: bool
    status: str | None


async def withdraw_decision(
    driver: AsyncDriver,
    database: str,
    column_urn: str,
    label: str,
    *,
    protected: Sequence[str] = (),
) -> Withdrawn | None:
    """Undo a steward's decision on a column's label (and so a stop or a confirmation of what
    inherits below); refused where it would delete a sensitive label whose sensitivity is
    ``protected``. None when the column has no decided edge for that label."""
    params = {"urn": column_urn, "label": label, "protected": list(protected),
              "machine": list(MACHINE)}  # fmt: skip
    # A refused withdrawal changed nothing: recomputing below it finds the same.
    rows = await write_and_propagate(driver, database, [column_urn], (WITHDRAW, params))
    if not rows:
        return None
    return Withdrawn(unmasks=rows[0]["unmasks"], status=rows[0]["status"])


async def column_labels(driver: AsyncDriver, database: str, column_urn: str) -> list[Record]:
    """Every label on a column with its edge (confidence, status, explanation, evidence...)."""
    return await read(driver, database, COLUMN_LABELS, urn=column_urn)


async def review_queue(
    driver: AsyncDriver,
    database: str,
    *,
    source: str | None = None,
    awaiting: Sequence[str] = ("review",),
    domains: frozenset[str] | None = None,
    sources: frozenset[str] | None = None,
    after: Place | None = None,
    limit: int = 50,
) -> list[Record]:
    """Labels whose status is in ``awaiting`` (by default machine labels below the suggestion
    threshold; ``pending_rejection``: rejections waiting for a second person), most confident
    first, within the RBAC scope ``domains``/``sources`` (None: unrestricted), from ``after``
    on (each row's ``rank`` and its ``urn`` and ``label`` are its ``Place``)."""
    return await read(
        driver, database, REVIEW_QUEUE, source=source, awaiting=list(awaiting),
        domains=sorted(domains) if domains is not None else None,
        sources=sorted(sources) if sources is not None else None,
        after=asdict(after) if after else None, limit=limit,
    )  # fmt: skip


async def count_review_queue(
    driver: AsyncDriver,
    database: str,
    *,
    source: str | None = None,
    awaiting: Sequence[str] = ("review",),
    domains: frozenset[str] | None = None,
    sources: frozenset[str] | None = None,
) -> int:
    """How many labels ``review_queue`` holds for these arguments, in all."""
    rows = await read(
        driver, database, REVIEW_COUNT, source=source, awaiting=list(awaiting),
        domains=sorted(domains) if domains is not None else None,
        sources=sorted(sources) if sources is not None else None, after=None,
    )  # fmt: skip
    return rows[0]["n"]


async def candidate_labels(
    driver: AsyncDriver,
    database: str,
    *,
    source: str | None = None,
    column: str | None = None,
    domains: frozenset[str] | None = None,
    sources: frozenset[str] | None = None,
    after: Place | None = None,
    limit: int = 50,
) -> list[Record]:
    """Near-miss labels (``urn``, ``label``, ``sensitivity``, ``edge``, ``rank``), most
    confident first, within the RBAC scope, from ``after`` on; a steward may confirm one with
    ``decide_label``."""
    return await read(
        driver, database, CANDIDATE_LIST, source=source, column=column,
        domains=sorted(domains) if domains is not None else None,
        sources=sorted(sources) if sources is not None else None,
        after=asdict(after) if after else None, limit=limit,
    )  # fmt: skip


async def count_candidate_labels(
    driver: AsyncDriver,
    database: str,
    *,
    source: str | None = None,
    column: str | None = None,
    domains: frozenset[str] | None = None,
    sources: frozenset[str] | None = None,
) -> int:
    """How many near-misses ``candidate_labels`` holds for these arguments, in all."""
    rows = await read(
        driver, database, CANDIDATE_COUNT, source=source, column=column,
        domains=sorted(domains) if domains is not None else None,
        sources=sorted(sources) if sources is not None else None, after=None,
    )  # fmt: skip
    return rows[0]["n"]


async def machine_labels(
    driver: AsyncDriver, database: str, urns: Sequence[str]
) -> dict[str, dict[str, LabelRow]]:
    """The machine labels (suggested, review) now on these columns, by column and label."""
    rows = await read(driver, database, MACHINE_LABELS, urns=list(urns), machine=list(MACHINE))
    found: dict[str, dict[str, LabelRow]] = {}
    for r in rows:
        found.setdefault(r["urn"], {})[r["label"]] = LabelRow.from_edge(r["label"], r["edge"])
    return found


async def stored_evidence(
    driver: AsyncDriver, database: str, source: str | None = None, stale_for: str | None = None
) -> list[Record]:
    """Machine labels and candidates with the evidence they were scored on (``urn``, ``name``,
    ``label``, ``status``: suggested, review or candidate, ``evidence``: list of dicts,
    ``model``); ``stale_for``: only columns with an edge another model than this one scored."""
    rows = await read(
        driver, database, STORED_EVIDENCE, machine=list(MACHINE), source=source, model=stale_for
    )
    return [r | {"evidence": json.loads(r["evidence"])} for r in rows]


async def steward_feedback(driver: AsyncDriver, database: str) -> list[Record]:
    """Decided edges with the detector scores they were suggested on: ``label``, ``features``
    (dict) and ``positive``."""
    rows = await read(driver, database, FEEDBACK)
    return [r | {"features": json.loads(r["features"])} for r in rows]


async def register_model(
    driver: AsyncDriver, database: str, registry: str, props: dict[str, Any]
) -> dict[str, Any]:
    """Store a fitted model as the next version and make it the active one."""
    rows = await write(driver, database, REGISTER_MODEL, registry=registry, props=props)
    return rows[0]["model"]


async def active_model(
    driver: AsyncDriver, database: str, registry: str, bootstrap: dict[str, Any]
) -> dict[str, Any]:
    """The registry's active model; an empty registry gets ``bootstrap`` as version 1."""
    rows = await write(driver, database, BOOTSTRAP_MODEL, registry=registry, props=bootstrap)
    return rows[0]["model"]


COLUMNS_TO_CLASSIFY = """
MATCH (a:Asset {urn: $urn})
CALL (a) {
  MATCH (a:Table)-[:HAS_COLUMN]->(c:Column) RETURN a AS t, c
  UNION
  MATCH (t:Table)-[:HAS_COLUMN]->(a:Column) RETURN t, a AS c
}
WITH t, c WHERE c.removedAt IS NULL
RETURN c.urn AS urn, c.name AS name, coalesce(c.dataType, '') AS dataType,
       coalesce(c.description, '') AS description, t.name AS table, c.min AS min, c.max AS max
ORDER BY c.ordinal
"""


async def columns_to_classify(driver: AsyncDriver, database: str, urn: str) -> list[Record]:
    """The live columns of a table (or the one column) ``urn`` names, in ordinal order."""
    return await read(driver, database, COLUMNS_TO_CLASSIFY, urn=urn)
