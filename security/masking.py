"""Field masking: what a caller without ``pii:read`` sees of a sensitive column's values.

A column is sensitive when a label of sensitivity ``confidential`` or ``restricted`` is on it
(any status but ``rejected``: a suggestion is enough to protect it). The policy picks one
strategy per sensitivity: ``redact`` (a fixed marker), ``partial`` (the value's shape: first
and last character, other letters and digits starred) or ``hash`` (a keyed HMAC, so equal
values stay comparable without being reversible by a dictionary of guesses).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from core.settings import MaskingSettings, Strategy

REDACTED = "[redacted]"
# Sensitivities that mask, least to most sensitive; ``public`` and ``internal`` never do.
SENSITIVE = ("confidential", "restricted")


def most_sensitive(sensitivities: Iterable[str | None]) -> str | None:
    """The highest masking sensitivity among a column's labels, or None if none masks."""
    found = [SENSITIVE.index(s) for s in sensitivities if s in SENSITIVE]
    return SENSITIVE[max(found)] if found else None


def partial(value: str) -> str:
    """The shape of a value: ``alice@example.com`` -> ``a****@*******.**m``."""
    if len(value) <= 4:
        return "*" * len(value)
    inner = "".join("*" if ch.isalnum() else ch for ch in value[1:-1])
    return value[0] + inner + value[-1]


class Masker:
    """Applies the configured strategy; built once per process from the settings."""

    def __init__(self, cfg: MaskingSettings) -> None:
        self._strategies = {"confidential": cfg.confidential, "restricted": cfg.restricted}
        self._key = cfg.hash_key.get_secret_value().encode()

    def mask(self, value: str, sensitivity: str) -> str:
        strategy = self._strategies[sensitivity]
        if strategy is Strategy.PARTIAL:
            return partial(value)
        if strategy is Strategy.HASH:
            digest = hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()
            return "hmac:" + digest[:16]
        return REDACTED
