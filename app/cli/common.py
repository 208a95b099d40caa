"""What every command shares: consoles and the settings, or a readable exit."""

from __future__ import annotations

import typer
from rich.console import Console

from core.settings import Settings, SettingsError, load_settings

console = Console()
err_console = Console(stderr=True)


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except SettingsError as err:
        err_console.print(f"[red]{err}[/red]")
        raise typer.Exit(2) from err
