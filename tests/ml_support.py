"""The classifier for tests, loaded once per session: spaCy and the embedding model are slow."""

from __future__ import annotations

from functools import cache

from ml.classifier import Classifier, build_classifier
from ml.taxonomy import BUILTIN
from ml.training import default_model


@cache
def shared_classifier() -> Classifier:
    return build_classifier(BUILTIN, default_model())
