"""ODCS v3 contracts for the mesh tests, built from a few columns."""

from __future__ import annotations

from typing import Any

import yaml


def contract(
    columns: dict[str, dict[str, Any]],
    *,
    table: str = "orders",
    version: str = "1.0.0",
    quality: list[dict[str, Any]] | None = None,
    sla: list[dict[str, Any]] | None = None,
    purpose: str | None = None,
    team: list[str] | None = None,
) -> str:
    """An ODCS v3.0.2 document with one table of ``columns`` (name -> property fields)."""
    doc: dict[str, Any] = {
        "apiVersion": "v3.0.2",
        "kind": "DataContract",
        "id": f"{table}-contract",
        "version": version,
        "status": "active",
        "schema": [
            {
                "name": table,
                "physicalType": "table",
                "properties": [{"name": n, **spec} for n, spec in columns.items()],
                **({"quality": quality} if quality else {}),
            }
        ],
    }
    if sla:
        doc["slaProperties"] = sla
    if purpose:
        doc["description"] = {"purpose": purpose}
    if team:
        doc["team"] = [{"username": name, "role": "owner"} for name in team]
    return yaml.safe_dump(doc, sort_keys=False)
