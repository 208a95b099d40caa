"""DataWave application layer: ASGI app, settings, CLI and the local service stack."""

__version__ = "0.1.0"
