"""``python -m app`` is the ``datawave`` command (used to start child processes)."""

from app.cli.main import main

main()
