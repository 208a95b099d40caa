"""``datawave source ...`` and ``datawave scan``: register, list, remove and scan data sources."""

from __future__ import annotations

import asyncio
import getpass
import json
import uuid
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
import yaml
from aiokafka import AIOKafkaProducer
from neo4j import AsyncDriver
from redis.asyncio import Redis
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Column, Table

from app.cli.common import console, err_console, print_wide, whole
from core.outages import in_words, is_outage
from core.settings import Settings
from core.sources import DataSourceConfig, TlsMode
from core.urns import source_urn
from graph.driver import open_driver
from graph.records import plain
from graph.sources import list_sources, register_source
from ingest.registration import InvalidSource, refusals, source_config, unregister
from ingest.scan import ScanError, ScanProgress, SourceBusy, registered, run_scan
from ingest.source_access import SourceAccess
from security.audit import AuditEvent, AuditSink, Outcome

source_cli = typer.Typer(help="Register, list and remove data sources.", no_args_is_help=True)
# Audited like the API's mutation, so the trail shows every unregistration the same way.
ACTION = "unregisterDataSource"
SHOWN_WARNINGS = 10  # a scan's warnings printed; the :Scan keeps up to 100


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


def items_from_yaml(path: Path) -> list[dict[str, Any]]:
    """A YAML file with one source, or a ``sources:`` list, as the flags' values."""
    doc = yaml.safe_load(path.read_text())
    items = doc.get("sources", [doc]) if isinstance(doc, dict) else doc
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise typer.BadParameter(f"{path}: expected a source or a `sources:` list of them")
    return items


def configs_or_exit(items: list[dict[str, Any]]) -> list[DataSourceConfig]:
    """Each item as a config; what is wrong with any is said in words, then exit 2."""
    configs, wrong = [], []
    for n, item in enumerate(items, 1):
        try:
            configs.append(source_config(item))
        except InvalidSource as err:
            label = item.get("name") or f"source {n}"
            wrong += [f"{label}: {f}: {m}" if f else f"{label}: {m}" for f, m in err.problems]
    if wrong:
        lines = "\n  ".join(wrong)
        err_console.print(f"[red]invalid source:[/red]\n  {lines}", highlight=False, soft_wrap=True)
        raise typer.Exit(2)
    return configs


async def register_all(settings: Settings, configs: list[DataSourceConfig]) -> list[str]:
    """Register the configs the operator's policy admits; what it refuses, in words."""
    access = SourceAccess.from_settings(settings)
    refused = [
        f"{c.name}: {field}: {message}"
        for c in configs
        for field, message in await refusals(c, access)
    ]
    if refused:
        return refused
    async with open_driver(settings.neo4j) as driver:
        for config in configs:
            await register_source(driver, settings.neo4j.database, config)
    return []


def add_sources(settings: Settings, configs: list[DataSourceConfig]) -> None:
    if refused := asyncio.run(register_all(settings, configs)):
        lines = "\n  ".join(refused)
        err_console.print(f"[red]refused:[/red]\n  {lines}", highlight=False, soft_wrap=True)
        raise typer.Exit(2)
    for config in configs:
        where = f"{config.kind} at {config.host}:{config.port}"
        console.print(f"registered {config.name} ({where})", soft_wrap=True)


def source_add(
    settings: Settings,
    name: str | None,
    kind: str | None,
    host: str,
    port: int | None,
    user: str | None,
    secret_ref: str | None,
    databases: list[str] | None,
    tls: TlsMode,
    file: Path | None,
) -> None:
    if file is not None:
        try:
            items = items_from_yaml(file)
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
            raise typer.BadParameter(f"cannot read {file}: {err}") from err
    elif name and kind:
        items = [{
            "name": name, "kind": kind, "host": host, "port": port, "user": user,
            "secret_ref": secret_ref, "databases": databases or [], "tls": tls,
        }]  # fmt: skip
    else:
        raise typer.BadParameter(
            "give --name and --kind (the port defaults to the kind's), or --file"
        )
    add_sources(settings, configs_or_exit(items))


async def _sources(settings: Settings) -> list[dict[str, Any]]:
    async with open_driver(settings.neo4j) as driver:
        return [plain(s) for s in await list_sources(driver, settings.neo4j.database)]


def _address(source: dict[str, Any]) -> str:
    """host:port, or "-" for a source only lineage has named (no connection settings)."""
    return f"{source['host']}:{source['port']}" if source.get("host") else "-"


def source_list(settings: Settings, output: OutputFormat) -> None:
    found = asyncio.run(_sources(settings))
    if output is OutputFormat.JSON:
        typer.echo(json.dumps(found, indent=2, sort_keys=True))
        return
    table = Table(
        whole("name"),
        "kind",
        whole("host:port"),
        "databases",
        "status",
        "last scan",
        Column("last error", overflow="fold"),
    )
    for s in found:
        table.add_row(
            s["name"], s.get("kind") or "-", _address(s), ",".join(s.get("databases") or []),
            s.get("status") or "-", str(s.get("lastScanAt") or "-"), s.get("lastError") or "",
        )  # fmt: skip
    print_wide(table)


async def _remove(settings: Settings, name: str, actor: str) -> list[str] | None:
    """Unregister ``name`` and record it in the audit trail, as the API does."""
    producer = AIOKafkaProducer(**settings.kafka.client_options())
    await producer.start()
    try:
        async with open_driver(settings.neo4j) as driver:
            db = settings.neo4j.database
            audit = AuditSink(driver, db, producer)
            request_id = uuid.uuid4().hex

            def event(outcome: Outcome, detail: str) -> AuditEvent:
                urn = source_urn(name)
                return AuditEvent(actor, ACTION, urn, outcome, request_id, "cli", detail)

            await audit.record(event("allowed", "attempt"))
            try:
                async with Redis.from_url(settings.redis_url) as redis:
                    topic = settings.ingest.changes_topic
                    removed = await unregister(driver, db, producer, topic, name, redis)
            except SourceBusy as busy:
                await audit.record(event("failed", str(busy)))
                raise
            detail = "no such source" if removed is None else f"{len(removed)} assets removed"
            await audit.record(event("failed" if removed is None else "succeeded", detail))
            return removed
    finally:
        await producer.stop()


def source_remove(settings: Settings, name: str) -> None:
    actor = f"cli:{getpass.getuser()}"
    try:
        removed = asyncio.run(_remove(settings, name, actor))
    except SourceBusy as busy:
        err_console.print(f"[red]{busy}[/red]", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from busy
    if removed is None:
        err_console.print(f"[red]no data source {name!r}[/red]")
        raise typer.Exit(1)
    removed_assets = f"{len(removed)} databases, schemas and tables marked removed"
    console.print(f"unregistered {name}: {removed_assets}", soft_wrap=True)


class ProgressBar:
    """Renders ScanProgress updates as one rich progress bar per scan."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    async def __call__(self, p: ScanProgress) -> None:
        if p.scan_id not in self.tasks:
            self.tasks[p.scan_id] = self.progress.add_task(p.source, total=100, detail="")
        detail = (
            f"{p.stage}: {p.tables} tables, {p.columns} columns, "
            f"{p.ingested}/{p.events} events ingested"
        )
        if p.stage == "interrupted":  # what it waits for, in words
            detail = f"interrupted: {p.error}"
        self.progress.update(self.tasks[p.scan_id], completed=p.percent, detail=detail)


async def all_registered(settings: Settings, driver: AsyncDriver, sources: list[str]) -> None:
    """ScanError naming every source that cannot be scanned (unknown, or registered by an older
    version), before any scan starts: ``scan good typo`` scanned ``good`` first, then failed."""
    wrong = []
    for source in dict.fromkeys(sources):
        try:
            await registered(settings, driver, source)
        except ScanError as err:
            wrong.append(str(err))
    if wrong:
        raise ScanError("nothing scanned:\n  " + "\n  ".join(wrong))


async def scan_sources(settings: Settings, sources: list[str]) -> list[ScanProgress]:
    columns = (
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>5.1f}%"),
        TimeElapsedColumn(), TextColumn("{task.fields[detail]}"),
    )  # fmt: skip
    async with open_driver(settings.neo4j) as driver:
        await all_registered(settings, driver, sources)
        with Progress(*columns, console=console) as progress:
            bar = ProgressBar(progress)
            return [await run_scan(settings, driver, s, on_progress=bar) for s in sources]


def print_summary(results: list[ScanProgress]) -> None:
    table = Table("source", "scan", "outcome", "tables", "columns", "events", "error")
    for r in results:
        outcome = "[green]finished[/green]" if r.stage == "finished" else "[red]failed[/red]"
        table.add_row(r.source, r.scan_id[:8], outcome, str(r.tables), str(r.columns),
                      str(r.events), r.error or "")  # fmt: skip
    console.print(table)
    for r in results:
        if r.warnings:
            console.print(f"[yellow]{r.source}: {len(r.warnings)} warning(s)[/yellow]")
            for warning in r.warnings[:SHOWN_WARNINGS]:
                console.print(f"  {warning}", markup=False, highlight=False)
            if len(r.warnings) > SHOWN_WARNINGS:
                console.print(f'  ... all of them: scan(id: "{r.scan_id}") {{ warnings }}')


def scan(settings: Settings, sources: list[str]) -> None:
    try:
        results = asyncio.run(scan_sources(settings, sources))
    except ScanError as err:
        console.print(f"[red]{err}[/red]")
        raise typer.Exit(1) from err
    except Exception as err:  # an outage is said in words, never as a traceback
        if not is_outage(err):
            raise
        console.print(f"[red]{in_words(err)}[/red]")
        raise typer.Exit(1) from err
    print_summary(results)
    if any(r.stage != "finished" for r in results):
        raise typer.Exit(1)
