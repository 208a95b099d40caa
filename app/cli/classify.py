"""``datawave classify``: run the consumer, classify on demand, refit, re-evaluate, read the
review queue."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Column, Table

from core.settings import Settings

if TYPE_CHECKING:  # the service imports spaCy and torch: only commands that need it load it
    from neo4j import AsyncDriver

    from graph.driver import Record
    from ml.resample import OnDemand
    from ml.service import ClassificationService, Reevaluation

classify_cli = typer.Typer(help="Label columns: PII, PCI, PHI, credentials.", no_args_is_help=True)
console = Console()
T = TypeVar("T")


def _with_driver(job: Callable[[AsyncDriver, Settings], Awaitable[T]]) -> T:
    from app.cli.common import settings_or_exit
    from graph.driver import open_driver
    from graph.migrations import apply_migrations

    settings = settings_or_exit()

    async def run() -> T:
        async with open_driver(settings.neo4j) as driver:
            await apply_migrations(driver, settings.neo4j.database)
            return await job(driver, settings)

    return asyncio.run(run())


def _with_service(job: Callable[[ClassificationService, Settings], Awaitable[T]]) -> T:
    """Also load the classifier (seconds) and run ``job(service, settings)``."""
    from core.sample_cipher import SampleCipher
    from ml.service import open_service

    async def run(driver: AsyncDriver, settings: Settings) -> T:
        cipher = SampleCipher.from_settings(settings.kafka)
        service = await open_service(driver, settings.neo4j.database, cipher=cipher)
        return await job(service, settings)

    return _with_driver(run)


@classify_cli.command("run")
def run_consumer() -> None:
    """Consume discovery events and label their columns until SIGTERM or SIGINT."""
    from redis.asyncio import Redis

    from ingest.heartbeat import beat
    from ml.consumer import ClassificationConsumer

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    async def job(service: ClassificationService, settings: Settings) -> None:
        consumer = ClassificationConsumer(service, settings.kafka, settings.resilience)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, consumer.stop)
        redis = Redis.from_url(settings.redis_url)
        heartbeat = asyncio.create_task(
            beat(
                redis,
                "classify",
                lambda: consumer.consumer,
                lambda: consumer.last_commit_at,
                settings.resilience,
            )
        )
        try:
            stats = await consumer.run()
        finally:
            heartbeat.cancel()
            await redis.aclose()
        console.print(stats)

    _with_service(job)


@classify_cli.command("urn")
def classify_urn(urn: Annotated[str, typer.Argument(help="a table or column URN")]) -> None:
    """Classify one table's columns (or one column) on values read again from its source
    (bounded like a scan); a label that had stronger evidence stays, decisions stand."""
    from ml.resample import classify_fresh
    from ml.service import UnknownAsset

    async def job(service: ClassificationService, settings: Settings) -> OnDemand:
        return await classify_fresh(service, settings, urn)

    try:
        done = _with_service(job)
    except UnknownAsset as err:
        console.print(f"[red]no live table or column {err}[/red]")
        raise typer.Exit(1) from err
    if done.problem:
        console.print(f"[yellow]{done.problem}; the profile's min and max stood in[/yellow]")
    table = Table("column", "label", "status", "confidence", "method")
    for column in done.columns:
        for row in column.labels:
            table.add_row(column.name, row.label, row.status, f"{row.confidence:.2f}", row.method)
    console.print(table)


def _print_report(report: Reevaluation) -> None:
    previous = ", ".join(report.previous) or "none"
    console.print(
        f"re-scored {report.columns} columns with model {report.model} (scored before by "
        f"{previous}): {len(report.new)} new, {len(report.lost)} lost, {len(report.moved)} moved"
    )
    table = Table("column", "label", "before", "after")
    for urn, label, status in report.new:
        table.add_row(urn, label, "", status)
    for urn, label, status in report.lost:
        table.add_row(urn, label, status, "")
    for urn, label, before, after in report.moved:
        table.add_row(urn, label, before, after)
    if table.row_count:
        console.print(table)


@classify_cli.command("fit")
def fit() -> None:
    """Refit on the generated estate plus stewards' decisions; register the next model and
    re-score the stored evidence with it."""

    async def job(
        service: ClassificationService, settings: Settings
    ) -> tuple[dict[str, object], Reevaluation]:
        model = await service.refit()
        return model, await service.reevaluate()

    model, report = _with_service(job)
    console.print(f"registered model {model['id']} ({model.get('stewardExamples', 0)} decisions)")
    _print_report(report)


@classify_cli.command("reevaluate")
def reevaluate(
    source: Annotated[str | None, typer.Option(help="only this source's columns")] = None,
    everything: Annotated[
        bool, typer.Option("--all", help="every column, not only those another model scored")
    ] = False,
) -> None:
    """Re-score stored evidence with the registry's active model and report what changed (new,
    lost, moved between suggested, review and candidate); steward decisions stand."""
    from graph.sources import source_known
    from ml.service import UnknownSource

    async def known(driver: AsyncDriver, settings: Settings) -> bool:
        return source is None or await source_known(driver, settings.neo4j.database, source)

    async def job(service: ClassificationService, settings: Settings) -> Reevaluation:
        return await service.reevaluate(source, everything=everything)

    try:
        if not _with_driver(known):  # said before the classifier loads (seconds)
            raise UnknownSource(source)
        report = _with_service(job)
    except UnknownSource as err:  # a typo re-scored 0 columns and exited 0
        console.print(
            f"[red]no data source {err}: neither registered nor with columns "
            "(datawave source list)[/red]",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(1) from err
    _print_report(report)


@classify_cli.command("queue")
def queue(limit: Annotated[int, typer.Option(min=1, max=10_000, help="rows")] = 50) -> None:
    """The review queue: labels below the suggestion threshold, most confident first."""
    from app.cli.common import print_wide, whole
    from graph.labels import review_queue

    async def job(driver: AsyncDriver, settings: Settings) -> list[Record]:
        return await review_queue(driver, settings.neo4j.database, limit=limit)

    table = Table(whole("column"), "label", "confidence", Column("explanation", overflow="fold"))
    for row in _with_driver(job):
        edge = row["edge"]  # one written without a confidence or explanation is listed too
        confidence = edge.get("confidence")
        shown = "-" if confidence is None else f"{confidence:.2f}"
        table.add_row(row["urn"], row["label"], shown, edge.get("explanation") or "")
    print_wide(table)  # a column's URN to paste into `classify explain`


@classify_cli.command("explain")
def explain(urn: Annotated[str, typer.Argument(help="a column URN")]) -> None:
    """Why each label on a column was given: detectors, shares of samples, masked examples."""
    from graph.labels import column_labels

    async def job(driver: AsyncDriver, settings: Settings) -> list[Record]:
        return await column_labels(driver, settings.neo4j.database, urn)

    rows = _with_driver(job)
    if not rows:
        console.print(f"no labels on {urn} (a column without any, or not a column's URN)")
        raise typer.Exit(1)
    for row in rows:
        edge = row["edge"]
        console.print(
            f"[bold]{row['label']}[/bold] {edge['status']}: {edge.get('explanation', '')}"
        )
        for ev in json.loads(edge.get("evidence") or "[]"):
            console.print(f"  {ev['detector']}: {ev['score']} {ev['detail']}")
