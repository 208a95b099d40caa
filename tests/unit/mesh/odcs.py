"""ODCS v3 contracts for the mesh tests, built from a few columns."""

from __future__ import annotations

from typing import Any

import yaml

# A column of nested properties: what the compatibility check walks into.
META = {
    "logicalType": "object",
    "properties": [
        {"name": "channel", "logicalType": "string"},
        {"name": "utm", "logicalType": "string"},
    ],
}


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


def alias_bomb(levels: int) -> str:
    """A contract whose custom properties chain YAML aliases: each level a list of ten aliases
    of the one before, ``10 ** levels`` strings once expanded (billion laughs)."""
    chain = ["&a0 [" + ", ".join(["lol"] * 10) + "]"]
    chain += [f"&a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, levels)]
    props = "".join(f"- property: p{i}\n  value: {v}\n" for i, v in enumerate(chain))
    return contract({"id": {"logicalType": "integer"}}) + "customProperties:\n" + props


def swelling() -> str:
    """A contract of 12 kB that is over 600 kB as the block-style YAML stored: a custom
    property's value nests fifty mappings deep, so each item of its list is indented by 100."""
    value = "{a: " * 50 + "[" + ",".join("1" * 6000) + "]" + "}" * 50
    props = f"customProperties:\n- property: swell\n  value: {value}\n"
    return contract({"id": {"logicalType": "integer"}}) + props
