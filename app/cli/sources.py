"""``datawave source ...`` and ``datawave scan``: register data sources and discover them."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import typer
import yaml
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from core.settings import Settings
from core.sources import DataSourceConfig
from graph.driver import open_driver
from graph.sources import list_sources, register_source
from ingest.scan import ScanError, ScanProgress, run_scan

source_cli = typer.Typer(help="Register and list data sources.", no_args_is_help=True)
console = Console()


def configs_from_yaml(path: Path) -> list[DataSourceConfig]:
    """A YAML file with one source, or a ``sources:`` list, validated like the flags."""
    doc = yaml.safe_load(path.read_text())
    items: list[dict[str, Any]] = doc.get("sources", [doc]) if isinstance(doc, dict) else doc
    return [DataSourceConfig.model_validate(item) for item in items]


async def register_all(settings: Settings, configs: list[DataSourceConfig]) -> None:
    async with open_driver(settings.neo4j) as driver:
        for config in configs:
            await register_source(driver, settings.neo4j.database, config)


def add_sources(settings: Settings, configs: list[DataSourceConfig]) -> None:
    asyncio.run(register_all(settings, configs))
    for config in configs:
        console.print(f"registered {config.name} ({config.kind} at {config.host}:{config.port})")


def source_add(
    settings: Settings,
    name: str | None,
    kind: str | None,
    host: str,
    port: int | None,
    user: str | None,
    secret_ref: str | None,
    databases: list[str] | None,
    file: Path | None,
) -> None:
    try:
        if file is not None:
            configs = configs_from_yaml(file)
        else:
            if not (name and kind and port):
                raise typer.BadParameter("give --name, --kind and --port, or --file")
            configs = [DataSourceConfig(
                name=name, kind=kind, host=host, port=port, user=user,
                secret_ref=secret_ref, databases=databases or [],
            )]  # fmt: skip
    except (ValidationError, OSError, yaml.YAMLError) as err:
        raise typer.BadParameter(str(err)) from err
    add_sources(settings, configs)


def source_list(settings: Settings) -> None:
    async def fetch() -> list[dict[str, Any]]:
        async with open_driver(settings.neo4j) as driver:
            return await list_sources(driver, settings.neo4j.database)

    table = Table("name", "kind", "host:port", "databases", "status", "last scan", "last error")
    for s in asyncio.run(fetch()):
        table.add_row(
            s["name"], s["kind"], f"{s['host']}:{s['port']}", ",".join(s.get("databases") or []),
            s.get("status") or "-", str(s.get("lastScanAt") or "-"), s.get("lastError") or "",
        )  # fmt: skip
    console.print(table)


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
        self.progress.update(self.tasks[p.scan_id], completed=p.percent, detail=detail)


async def scan_sources(settings: Settings, sources: list[str]) -> list[ScanProgress]:
    columns = (
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>5.1f}%"),
        TimeElapsedColumn(), TextColumn("{task.fields[detail]}"),
    )  # fmt: skip
    async with open_driver(settings.neo4j) as driver:
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


def scan(settings: Settings, sources: list[str]) -> None:
    try:
        results = asyncio.run(scan_sources(settings, sources))
    except ScanError as err:
        console.print(f"[red]{err}[/red]")
        raise typer.Exit(1) from err
    print_summary(results)
    if any(r.stage != "finished" for r in results):
        raise typer.Exit(1)
