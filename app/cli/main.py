"""The ``datawave`` command: serve the API, run migrations and workers, register and scan sources.

Commands for development (``stack``, ``demo``, ``up``) come from the ``datawave.cli`` entry
points: ``devstack`` registers them when it is installed from the repository (``make install``);
the wheel and the image have none of them.
"""

from __future__ import annotations

import asyncio
from importlib.metadata import entry_points
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from app.cli import sources as cli_catalog
from app.cli.classify import classify_cli
from app.cli.common import InWords, console, err_console, settings_or_exit
from app.cli.search import search_cli
from core.settings import IngestSettings
from core.sources import TlsMode
from security.rbac import ROLES

cli = typer.Typer(
    cls=InWords, help="DataWave: a data-governance knowledge graph.", no_args_is_help=True
)
cli.add_typer(classify_cli, name="classify")
cli.add_typer(cli_catalog.source_cli, name="source")
cli.add_typer(search_cli, name="search")


@cli.command()
def migrate() -> None:
    """Apply the Neo4j constraints and indexes (idempotent)."""
    from graph.driver import open_driver
    from graph.migrations import apply_migrations

    settings = settings_or_exit()

    async def run() -> list[str]:
        async with open_driver(settings.neo4j) as driver:
            return await apply_migrations(driver, settings.neo4j.database)

    applied = asyncio.run(run())
    console.print(f"migrations applied: {', '.join(applied) if applied else 'none (up to date)'}")


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="bind address")] = None,
    port: Annotated[int | None, typer.Option(help="port")] = None,
    workers: Annotated[
        int, typer.Option(help="API processes, each on its own SO_REUSEPORT socket")
    ] = 1,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
) -> None:
    """Serve the GraphQL API (and /healthz, /readyz, /metrics) with uvicorn."""
    import uvicorn

    from app.serving import APP, UVICORN_OPTIONS, serve_processes

    settings = settings_or_exit()
    host, port = host or settings.host, port or settings.port
    if workers > 1:
        raise typer.Exit(serve_processes(host, port, workers, log_level, settings.resilience))
    uvicorn.run(APP, factory=True, host=host, port=port, log_level=log_level, **UVICORN_OPTIONS)


@cli.command()
def ingest(
    topic: Annotated[list[str] | None, typer.Option(help="topic to consume (repeatable)")] = None,
    group: Annotated[str | None, typer.Option(help="consumer group id")] = None,
    dlq_topic: Annotated[str | None, typer.Option(help="dead-letter topic")] = None,
    batch_size: Annotated[int | None, typer.Option(help="events per batch at most")] = None,
    metrics_port: Annotated[int | None, typer.Option(help="Prometheus port (0: off)")] = None,
) -> None:
    """Consume discovery events into Neo4j; SIGTERM finishes the batch, commits and exits 0."""
    from ingest.worker import main as run_worker

    settings = settings_or_exit()
    options = {
        "topics": topic,
        "group_id": group,
        "dlq_topic": dlq_topic,
        "batch_size": batch_size,
        "metrics_port": metrics_port,
    }
    cfg = settings.ingest.model_dump() | {k: v for k, v in options.items() if v is not None}
    try:
        ingest_settings = IngestSettings.model_validate(cfg)
    except ValidationError as err:
        err_console.print(f"[red]{err}[/red]")
        raise typer.Exit(2) from err
    stats = run_worker(settings.model_copy(update={"ingest": ingest_settings}))
    console.print(
        f"ingested {stats.events_ok} events in {stats.batches} batches, {stats.dlq} dead-lettered"
    )


@cli_catalog.source_cli.command("add")
def source_add(
    name: Annotated[str | None, typer.Option(help="slug, used in every URN")] = None,
    kind: Annotated[str | None, typer.Option(help="mysql, mariadb, postgresql, mongodb")] = None,
    host: Annotated[str, typer.Option(help="host name or address")] = "127.0.0.1",
    port: Annotated[
        int | None, typer.Option(help="port (default: the kind's standard port)")
    ] = None,
    user: Annotated[str | None, typer.Option(help="account name")] = None,
    secret_ref: Annotated[
        str | None,
        typer.Option(help="where the password is: env:VAR or file:/path in the secrets directory"),
    ] = None,
    database: Annotated[
        list[str] | None, typer.Option(help="database to scan (repeatable; default all)")
    ] = None,
    tls: Annotated[
        TlsMode, typer.Option(help="encrypt the connection (verify: check the certificate)")
    ] = TlsMode.DISABLE,
    file: Annotated[Path | None, typer.Option(help="YAML file with a source or sources:")] = None,
) -> None:
    """Register (or update) a data source; its password stays where --secret-ref points."""
    cli_catalog.source_add(
        settings_or_exit(), name, kind, host, port, user, secret_ref, database, tls, file
    )


@cli_catalog.source_cli.command("list")
def source_list(
    output: Annotated[
        cli_catalog.OutputFormat, typer.Option(help="a table, or JSON for scripts")
    ] = cli_catalog.OutputFormat.TABLE,
) -> None:
    """List registered sources with their status and last scan."""
    cli_catalog.source_list(settings_or_exit(), output)


@cli_catalog.source_cli.command("remove")
def source_remove(
    name: Annotated[str, typer.Argument(help="the registered source's name")],
) -> None:
    """Unregister a source: its assets are marked removed and announced; audited."""
    cli_catalog.source_remove(settings_or_exit(), name)


@cli.command()
def scan(sources: Annotated[list[str], typer.Argument(help="registered source names")]) -> None:
    """Discover sources through Kafka into the graph, with progress and a summary.

    Needs an ingest worker (`datawave ingest`) consuming the discovery topic.
    """
    cli_catalog.scan(settings_or_exit(), sources)


@cli.command()
def token(
    subject: Annotated[str, typer.Argument(help="who the token names (its sub claim)")],
    role: Annotated[list[str], typer.Option(help="role (repeatable): " + ", ".join(ROLES))],
    domain: Annotated[
        list[str] | None, typer.Option(help="domain in scope (repeatable; default all)")
    ] = None,
    source: Annotated[
        list[str] | None, typer.Option(help="data source in scope (repeatable; default all)")
    ] = None,
    permission: Annotated[
        list[str] | None, typer.Option(help="extra permission (repeatable): pii:read")
    ] = None,
    ttl: Annotated[
        int,
        typer.Option(
            min=1,
            max=30 * 86400,
            help="lifetime in seconds (at most DATAWAVE_AUTH__MAX_TOKEN_LIFETIME_S, default 24 h)",
        ),
    ] = 3600,
    private_key: Annotated[
        Path | None, typer.Option(help="PEM private key, for an RS/ES algorithm")
    ] = None,
    algorithm: Annotated[
        str | None, typer.Option(help="signing algorithm (default: the first allowed)")
    ] = None,
    key_id: Annotated[str | None, typer.Option(help="kid header: the key's id in the JWKS")] = None,
) -> None:
    """Mint a signed token for the configured issuer and audience (development and tests);
    send it as `Authorization: Bearer <token>`."""
    from security.auth import mint_token
    from security.rbac import GRANTABLE

    unknown = [r for r in role if r not in ROLES]
    unknown += [p for p in permission or [] if p not in {str(g) for g in GRANTABLE}]
    if unknown:
        err_console.print(f"[red]unknown role or permission: {', '.join(unknown)}[/red]")
        raise typer.Exit(2)
    settings = settings_or_exit()
    try:
        minted = mint_token(
            settings.auth,
            subject,
            role,
            domains=domain,
            sources=source,
            permissions=permission,
            ttl_s=ttl,
            private_key=private_key.read_text() if private_key else None,
            algorithm=algorithm,
            key_id=key_id,
        )
    except (ValueError, OSError) as err:
        err_console.print(f"[red]cannot mint the token: {err}[/red]")
        raise typer.Exit(2) from err
    typer.echo(minted)


def load_plugins() -> None:
    """Commands other installed packages add (``datawave.cli`` entry points)."""
    for plugin in entry_points(group="datawave.cli"):
        plugin.load()(cli)


def main() -> None:
    load_plugins()
    cli()
