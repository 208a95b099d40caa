"""Sample values on Kafka, sealed so that only the classifier reads them.

Connectors read a few raw values per column (emails, free text) for classification. On
``datawave.discovery.v1`` they travel as one AES-256-GCM ciphertext per table event
(``TableDiscovered.sealed_samples``): the producer seals (ingest/producer.py), the classifier
opens (ml/consumer.py), and nothing else, the ingest worker included, has them in clear. The
ciphertext names its key (``kid``), so keys rotate: seal with the current key, open with any
key still in the keyring. The event's subject is authenticated with it, so a sealed block moved
onto another table's event does not open.

The classifier seals the few examples it keeps as evidence the same way before they are stored
on ``LABELED`` edges in Neo4j (``seal_bytes``, bound to column, label and detector; ml/evidence.py),
and the API opens them only for callers who may see them (resolvers/labels/evidence.py).
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from core.events import ColumnInfo, Event, InvalidEvent, SealedSamples, TableDiscovered
from core.settings import KafkaSettings

NONCE_BYTES = 12  # GCM's standard nonce, random per event
TAG_BYTES = 16
# The sealed block's JSON beyond its base64 texts: field names, quotes and a kid of <= 64.
SEALED_OVERHEAD = 128


class UnreadableSamples(InvalidEvent):
    """Sealed samples the keyring cannot open: an unknown key id, another key, or tampering."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _without_samples(columns: list[ColumnInfo]) -> list[ColumnInfo]:
    return [c.model_copy(update={"samples": []}) for c in columns]


class SampleCipher:
    """Seals and opens the samples of ``TableDiscovered`` events; other events pass as they are."""

    def __init__(self, keys: Mapping[str, bytes], current: str) -> None:
        self._keys = {kid: AESGCM(key) for kid, key in keys.items()}
        self._current = current

    @classmethod
    def from_settings(cls, kafka: KafkaSettings) -> SampleCipher:
        return cls(kafka.sample_keyring(), kafka.sample_kid)

    def seal_bytes(self, plain: bytes, context: str) -> SealedSamples:
        """``plain`` encrypted under the current key and bound to ``context`` (authenticated,
        not stored): a block opens only with the context it was sealed for."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._keys[self._current].encrypt(nonce, plain, context.encode())
        return SealedSamples(kid=self._current, nonce=_b64(nonce), ciphertext=_b64(sealed))

    def open_bytes(self, block: SealedSamples, context: str) -> bytes:
        """What ``seal_bytes`` sealed for ``context``; raises ``UnreadableSamples``."""
        key = self._keys.get(block.kid)
        if key is None:
            raise UnreadableSamples(f"samples sealed with key {block.kid!r}, not in the keyring")
        try:
            return key.decrypt(
                base64.b64decode(block.nonce), base64.b64decode(block.ciphertext), context.encode()
            )
        except (InvalidTag, ValueError) as err:
            raise UnreadableSamples(
                f"samples of {context} do not open with key {block.kid!r}"
            ) from err

    def seal(self, event: Event) -> Event:
        """The event with its samples encrypted under the current key, none left in clear."""
        table = event.data
        if not isinstance(table, TableDiscovered) or not any(c.samples for c in table.columns):
            return event
        block = self.seal_bytes(orjson.dumps([c.samples for c in table.columns]), event.subject)
        data = table.model_copy(
            update={"columns": _without_samples(table.columns), "sealed_samples": block}
        )
        return event.model_copy(update={"data": data})

    def open(self, event: Event) -> Event:
        """The event with its samples back in its columns; raises ``UnreadableSamples``."""
        table = event.data
        if not isinstance(table, TableDiscovered) or table.sealed_samples is None:
            return event
        samples = orjson.loads(self.open_bytes(table.sealed_samples, event.subject))
        if len(samples) != len(table.columns):
            raise UnreadableSamples(f"samples of {event.subject} do not match its columns")
        columns = [
            c.model_copy(update={"samples": s}) for c, s in zip(table.columns, samples, strict=True)
        ]
        data = table.model_copy(update={"columns": columns, "sealed_samples": None})
        return event.model_copy(update={"data": data})


def sealed_size(table: TableDiscovered) -> int:
    """At least the length of the table's JSON once its samples are sealed (base64 adds a
    third to them), so a connector can fit its events to Kafka's record limit."""
    bare = table.model_copy(update={"columns": _without_samples(table.columns)})
    plain = len(orjson.dumps([c.samples for c in table.columns]))
    encoded = 4 * -(-NONCE_BYTES // 3) + 4 * -(-(plain + TAG_BYTES) // 3)
    return len(bare.model_dump_json()) + encoded + SEALED_OVERHEAD
