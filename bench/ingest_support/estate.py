"""The scale-N demo estate's discovery events, captured once from the real connectors.

Capturing loads the demo estate into the local engines under databases named ``dwbench_*``,
scans it with the connectors as sources named ``bench-acme-*`` (never the demo's own names),
writes every event's bytes to a cache file and drops those databases again. Later runs replay
the file, so every run ingests the same bytes; the file name carries a digest of the code that
produces them (demo estate, connectors, event models), so a change there captures anew.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from core.events import SOURCE_CHECKED, TABLE_DISCOVERED, TableDiscovered, parse_event
from core.settings import Settings
from core.sources import DataSourceConfig
from core.urns import source_urn
from devstack.demo import PASSWORD_ENV, demo_sources, drop_demo, load_demo
from ingest.connectors.base import connector_for
from ingest.source_access import SourceAccess

ROOT = Path(__file__).resolve().parents[2]
DATABASE_PREFIX = "dwbench_"
SOURCE_PREFIX = "bench-"
PRODUCERS = ("devstack/demo.py", "devstack/demo_estate.py", "core/events.py", "ingest/connectors")


@dataclass(frozen=True)
class Estate:
    """Raw events (Kafka key, value) in discovery order, and what they describe."""

    records: list[tuple[bytes, bytes]]
    tables: list[TableDiscovered]
    urns: list[str]  # of ``tables``, in their order
    sources: list[str]

    @property
    def columns(self) -> int:
        return sum(len(t.columns) for t in self.tables)

    @property
    def source_urns(self) -> list[str]:
        return [source_urn(s) for s in self.sources]

    def rescan(self, later: timedelta) -> list[tuple[bytes, bytes]]:
        """The events of a full rescan that finds nothing new: the same estate, each event
        with a new id and ``later``, as the connectors would send it again."""
        out = []
        for key, value in self.records:
            event = parse_event(value)
            again = event.model_copy(update={"id": str(uuid.uuid4()), "time": event.time + later})
            out.append((key, again.to_bytes()))
        return out


# FerretDB on SQLite lists the 8,000 collections of scale 1000 in more than the default 10 s.
TIMEOUT_S = 120.0


def bench_sources() -> list[DataSourceConfig]:
    return [
        c.model_copy(update={"name": SOURCE_PREFIX + c.name, "timeout_s": TIMEOUT_S})
        for c in demo_sources(DATABASE_PREFIX)
    ]


def _digest() -> str:
    h = hashlib.sha256()
    for name in PRODUCERS:
        path = ROOT / name
        for f in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            h.update(f.read_bytes())
    return h.hexdigest()[:12]


def cache_file(settings: Settings, scale: int) -> Path:
    return settings.cache_dir / "bench" / f"ingest-scale{scale}-{_digest()}.jsonl.gz"


async def capture(settings: Settings, scale: int, path: Path) -> None:
    """Load, scan and drop the estate, writing the events to ``path`` (atomically)."""
    password = settings.source_password.get_secret_value()
    os.environ.setdefault(PASSWORD_ENV, password)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    await load_demo(password, scale, prefix=DATABASE_PREFIX)
    try:
        with gzip.open(partial, "wb") as out:
            for cfg in bench_sources():
                async with connector_for(cfg, SourceAccess.from_settings(settings)) as connector:
                    async for event in connector.discover():
                        if event.type == SOURCE_CHECKED and event.data.status != "reachable":
                            raise RuntimeError(f"{cfg.name}: {event.data.error}")  # all or none
                        out.write(event.to_bytes() + b"\n")
                    if connector.report.failures:
                        raise RuntimeError(f"{cfg.name}: {connector.report.failures[:3]}")
        partial.rename(path)
    finally:
        partial.unlink(missing_ok=True)
        await drop_demo(password, prefix=DATABASE_PREFIX)


def read_estate(path: Path) -> Estate:
    records, tables, urns = [], [], []
    with gzip.open(path, "rb") as lines:
        for value in lines:
            value = value.rstrip(b"\n")
            event = parse_event(value)
            records.append((event.key, value))
            if event.type == TABLE_DISCOVERED:
                tables.append(event.data)
                urns.append(event.subject)
    return Estate(records, tables, urns, [c.name for c in bench_sources()])


async def estate(settings: Settings, scale: int) -> Estate:
    path = cache_file(settings, scale)
    if not path.exists():
        print(f"capturing the scale-{scale} estate's events into {path} (once) ...", flush=True)
        await capture(settings, scale, path)
    return read_estate(path)
