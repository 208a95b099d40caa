"""The development commands: ``datawave stack``, ``datawave demo`` and ``datawave up``.

Registered on the ``datawave`` command through the ``datawave.cli`` entry point of the
``datawave-devstack`` distribution (``devstack/pyproject.toml``), installed by ``make install``.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import httpx
import typer
from redis.asyncio import Redis
from redis.exceptions import RedisError
from rich.table import Table

from app.cli.common import console, err_console, settings_or_exit
from core.settings import Settings
from devstack import stack
from live.workers import WorkerStatus, workers

stack_cli = typer.Typer(
    help="Run the local service stack (no Docker needed).", no_args_is_help=True
)
demo_cli = typer.Typer(help="The acme demo estate in the local stack.", no_args_is_help=True)


def stack_context() -> stack.Context:
    return stack.Context(settings_or_exit(), echo=console.print)


Services = Annotated[list[str] | None, typer.Argument(help="services (default: all)")]


@stack_cli.command("up")
def stack_up(services: Services = None) -> None:
    """Install (cached), start and wait for the services; idempotent."""
    try:
        stack.up(stack_context(), services)
    except stack.StackError as err:
        err_console.print(f"[red]stack up failed:[/red] {err}")
        raise typer.Exit(1) from err


@stack_cli.command("down")
def stack_down(services: Services = None) -> None:
    """Stop the services this stack started (by pid file), nothing else."""
    try:
        stack.down(stack_context(), services)
    except stack.StackError as err:
        err_console.print(f"[red]{err}[/red]")
        raise typer.Exit(1) from err


@stack_cli.command("status")
def stack_status() -> None:
    """List each service with its ports, pid, state and resident memory, then the API and
    the workers (state, lag, last commit, the dependency they wait for)."""
    rows = stack.status(stack_context())
    table = Table("service", "ports", "pid", "state", "RSS (MiB)")
    for row in rows:
        state = "[green]up[/green]" if row.up else "[red]down[/red]"
        table.add_row(
            row.name,
            ",".join(map(str, row.ports)),
            str(row.pid or "-"),
            state,
            f"{row.rss_bytes / 2**20:.0f}",
        )
    total = sum(r.rss_bytes for r in rows)
    table.add_row("total", "", "", "", f"{total / 2**20:.0f}")
    console.print(table)
    console.print(_datawave_table(stack_context().settings))


def _datawave_table(settings: Settings) -> Table:
    """The API (its /healthz) and the workers, as their heartbeats tell (live/workers.py)."""
    table = Table("DataWave", "state", "lag", "last commit", "waiting for")
    api = f"http://{settings.host}:{settings.port}/healthz"
    try:
        up = httpx.get(api, timeout=2).status_code == 200
    except httpx.HTTPError:
        up = False
    table.add_row(f"api :{settings.port}", "[green]up[/green]" if up else "[red]down[/red]")

    async def heartbeats() -> list[WorkerStatus]:
        async with Redis.from_url(settings.redis_url) as redis:
            return await workers(redis, settings.resilience)

    try:
        found = asyncio.run(heartbeats())
    except RedisError:
        table.add_row("workers", "[red]unknown[/red] (Redis down)")
        return table
    for w in found:
        colour = "green" if w.state == "running" else "yellow"
        age = "-" if w.commit_age_s is None else f"{w.commit_age_s:.0f}s ago"
        lag = "-" if w.lag is None else str(w.lag)
        table.add_row(w.component, f"[{colour}]{w.state}[/{colour}]", lag, age, w.waiting_for or "")
    if not found:
        table.add_row("workers", "[yellow]none[/yellow] (no heartbeat)")
    return table


@demo_cli.command("load")
def demo_load(
    scale: Annotated[int, typer.Option(min=1, help="copies of every table (100: thousands)")] = 1,
) -> None:
    """Drop and rebuild the demo databases (MariaDB shop, PostgreSQL billing and analytics,
    MongoDB crm) with deterministic data."""
    from devstack.demo import PASSWORD_ENV, load_demo

    settings = settings_or_exit()
    loaded = asyncio.run(load_demo(settings.source_password.get_secret_value(), scale))
    table = Table("source", "database", "tables", "views", "collections", "rows")
    for db in loaded:
        table.add_row(
            db.source, db.database, str(db.tables), str(db.views), str(db.collections), str(db.rows)
        )
    console.print(table)
    console.print(f"the demo sources read their password from ${PASSWORD_ENV}")


def up(
    demo: Annotated[bool, typer.Option(help="load and scan the demo estate first")] = True,
    scale: Annotated[int, typer.Option(min=1, help="demo estate scale")] = 1,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="every log line on the console, not in files")
    ] = False,
) -> None:
    """Run an ingest worker, load and scan the demo estate, and serve the API (Ctrl-C stops)."""
    from devstack.local import run_local

    run_local(settings_or_exit(), demo=demo, scale=scale, verbose=verbose)


def register(cli: typer.Typer) -> None:
    cli.add_typer(stack_cli, name="stack")
    cli.add_typer(demo_cli, name="demo")
    cli.command()(up)
