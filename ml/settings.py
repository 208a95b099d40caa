"""Classifier settings, read from ``DATAWAVE_CLASSIFIER__*`` like a nested ``Settings`` field.

They live here rather than in ``core.settings`` so that the classifier can be configured without
touching the API's settings; the variable names are those a ``classifier`` field would have.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.topics import CHANGES, DISCOVERY


class ClassifierSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DATAWAVE_CLASSIFIER__", extra="ignore")

    topic: str = DISCOVERY
    group_id: str = "datawave-classify"
    changes_topic: str = CHANGES
    batch_size: int = Field(200, ge=1, le=5_000)
    batch_timeout_ms: int = Field(500, ge=1, le=60_000)
    suggest_at: float = Field(0.9, gt=0, le=1, description="confidence applied as suggested")
    review_floor: float = Field(0.5, gt=0, le=1, description="below this a label is dropped")
    registry: str = "default"
    taxonomy_file: Path | None = None
    spacy_pipeline: str | None = None
    max_samples: int = Field(50, ge=1, le=10_000)
    evidence_share: float = Field(
        0.9, gt=0, le=1, description="share of samples a validator must pass to decide alone"
    )
    evidence_min_samples: int = Field(5, ge=1, description="fewer samples never decide alone")
    specific_floor: float = Field(
        0.95, gt=0, le=1, description="confidence at least, when a specific validator decides"
    )
    strict_floor: float = Field(
        0.7, gt=0, le=1, description="confidence at least, when a less specific one decides"
    )
    candidate_floor: float = Field(
        0.2, ge=0, le=1, description="near-misses from here up to review_floor are candidates"
    )
    preload: bool = Field(
        False,
        description="an API replica loads the on-demand classifier's models in the background"
        " as it starts (else on the first classify, which then waits 5-20 s for them)",
    )
    null_ratio_jump: float = Field(0.2, gt=0, le=1)
    row_count_drop: float = Field(0.5, gt=0, le=1)
