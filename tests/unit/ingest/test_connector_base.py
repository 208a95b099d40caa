"""Connector framework: secrets, config, registry refusals, ordering and bounding helpers."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import ValidationError

from core.events import ColumnInfo, TableDiscovered
from core.settings import Settings
from ingest.connectors.base import (
    EVENT_BUDGET,
    Connector,
    ConnectorRegistry,
    DataSourceConfig,
    ServerInfo,
    bounded_count,
    connector_for,
    fit_event,
    in_order,
    registry,
)
from ingest.source_access import SourceAccess


def test_config_accepts_only_references_and_slugs() -> None:
    cfg = DataSourceConfig(name="pg-1", kind="postgresql", port=5432, secret_ref="env:PW")
    assert cfg.sample_size == 100 and cfg.sample_documents == 200 and cfg.databases == []
    assert "PW" not in cfg.target
    for bad in ({"secret_ref": "hunter2"}, {"secret_ref": "literal:x"}, {"name": "Bad Name"}):
        with pytest.raises(ValidationError):
            DataSourceConfig(**{"name": "pg", "kind": "postgresql", "port": 5432, **bad})


class Minimal(Connector[Any]):
    standard_port = 1

    async def _server(self) -> ServerInfo:
        return ServerInfo("1", [])

    async def _counts(self, databases: list[str]) -> dict[str, int]:
        return {}

    async def _listing(self, database: str) -> dict[str, list[Any]]:
        return {}

    async def _describe(self, database: str, schema: str, spec: Any) -> TableDiscovered:
        raise NotImplementedError


def test_registry_refuses_duplicates_abstract_and_foreign_classes() -> None:
    reg = ConnectorRegistry()
    reg.register("x")(Minimal)
    assert reg.get("x") is Minimal
    with pytest.raises(ValueError, match="already registered"):
        reg.register("x")(Minimal)

    class Abstract(Connector[Any]):
        pass

    with pytest.raises(TypeError, match="abstract"):
        reg.register("y")(Abstract)
    with pytest.raises(TypeError, match="not a Connector"):
        reg.register("z")(dict)  # type: ignore[arg-type]
    with pytest.raises(KeyError, match="no connector for kind 'nope'"):
        reg.get("nope")


def test_builtin_connectors_are_found_by_kind() -> None:
    assert {"mysql", "mariadb", "postgresql", "mongodb"} <= set(registry.kinds())
    cfg = DataSourceConfig(name="m", kind="mariadb", port=3306)
    access = SourceAccess.from_settings(Settings(_env_file=None))
    assert type(connector_for(cfg, access)).__name__ == "MySQLConnector"


async def test_in_order_keeps_order_and_yields_errors() -> None:
    running = 0
    peak = 0

    async def work(n: int) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01 * (5 - n))
        running -= 1
        if n == 2:
            raise OSError("boom")
        return n * 10

    results = [r async for r in in_order([0, 1, 2, 3, 4], work, limit=3)]
    assert [i for i, _ in results] == [0, 1, 2, 3, 4]
    assert [r for _, r in results if not isinstance(r, BaseException)] == [0, 10, 30, 40]
    assert isinstance(results[2][1], OSError)
    assert peak <= 3


async def test_bounded_count() -> None:
    async def upto(limit: int) -> int:
        return min(limit, 50)

    assert await bounded_count(100, upto, 7) == (50, True)
    assert await bounded_count(10, upto, 40) == (40, False)
    assert await bounded_count(10, upto, 3) == (11, False)  # stale estimate: at least limit + 1


def test_fit_event_trims_samples_only() -> None:
    columns = [
        ColumnInfo(name=f"c{i}", data_type="text", ordinal=i, samples=["x" * 250] * 100)
        for i in range(60)
    ]
    table = TableDiscovered(
        name="t", kind="table", schema_urn="urn:dw:schema:s/d/p", columns=columns
    )
    fitted = fit_event(table)
    assert len(fitted.model_dump_json()) <= EVENT_BUDGET
    assert [c.name for c in fitted.columns] == [c.name for c in columns]
    assert 0 < len(fitted.columns[0].samples) < 100
