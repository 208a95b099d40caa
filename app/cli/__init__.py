"""The ``datawave`` command (Typer)."""
