"""What every command shares: consoles, the settings, or a readable exit, and failures said in
words."""

from __future__ import annotations

from typing import Any

import typer
from neo4j.exceptions import AuthError
from rich.console import Console
from rich.table import Column, Table
from typer.core import TyperGroup

from core.outages import dependency, in_words
from core.settings import Settings, SettingsError, load_settings
from security.audit import AuditUnavailable

console = Console()
err_console = Console(stderr=True)

# The setting that says where each dependency is: what to check when it does not answer.
WHERE = {
    "neo4j": "DATAWAVE_NEO4J__URI",
    "kafka": "DATAWAVE_KAFKA__BOOTSTRAP_SERVERS",
    "redis": "DATAWAVE_REDIS_URL",
    "opensearch": "DATAWAVE_OPENSEARCH_URL",
}


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except SettingsError as err:
        err_console.print(f"[red]{err}[/red]")
        raise typer.Exit(2) from err


def failure_in_words(err: BaseException) -> str | None:
    """What an operator can act on, in words (never a secret): a dependency that does not
    answer, credentials Neo4j refuses, an audit trail that cannot be written; else None."""
    if isinstance(err, AuditUnavailable):
        # It is written to Neo4j and Kafka; a timeout does not say which one did not answer.
        cause = failure_in_words(err.__cause__) if err.__cause__ else None
        cause = cause or f"do Neo4j ({WHERE['neo4j']}) and Kafka ({WHERE['kafka']}) answer?"
        return f"the audit trail is unavailable, so nothing was changed: {cause}"
    if isinstance(err, AuthError):
        return (
            "Neo4j refused the credentials: check DATAWAVE_NEO4J__USER and DATAWAVE_NEO4J__PASSWORD"
        )
    if (name := dependency(err)) in WHERE:
        return f"{in_words(err)}: is it running, and is {WHERE[name]} right?"
    return None


class InWords(TyperGroup):
    """The root command: a failure ``failure_in_words`` knows exits 1 with its words, never
    with a traceback, whichever command (or plugin command) met it."""

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as err:
            if (words := failure_in_words(err)) is None:
                raise
            err_console.print(f"[red]{words}[/red]", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from err


# A column of names to copy (URNs, source names): never cut (``acme-ma…`` names nothing).
WHOLE: dict[str, Any] = {"no_wrap": True, "overflow": "ignore"}


def whole(header: str) -> Column:
    return Column(header, **WHOLE)


def print_wide(table: Table) -> None:
    """``table`` as wide as its whole columns need, even past a narrow terminal (which then
    wraps the lines)."""
    unbounded = console.options.update_width(10_000)
    width = max(console.width, console.measure(table, options=unbounded).maximum)
    Console(width=width, file=console.file).print(table)
