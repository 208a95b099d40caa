"""Data contracts in the Open Data Contract Standard (ODCS v3): parse, export, compare, check.

Documents are parsed into the standard's own pydantic models (``open-data-contract-standard``),
so an invalid one is refused with the path of its bad field, and exported back as ODCS YAML.
Two versions are compared structurally (``breaking_changes``): a removed table or column, a
changed type, a column made required, or a changed primary key breaks consumers. A contract is
checked against what the scans discovered in the product's output ports (``drift``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

import yaml
from jsonschema import Draft201909Validator
from jsonschema.exceptions import best_match
from open_data_contract_standard.model import OpenDataContractStandard, SchemaProperty
from pydantic import ValidationError

from mesh.errors import InvalidContract

MAX_BYTES = 512 * 1024


def parse(text: str) -> OpenDataContractStandard:
    """An ODCS v3 document, or InvalidContract naming the bad field's path."""
    if len(text.encode()) > MAX_BYTES:
        raise InvalidContract(f"a contract has at most {MAX_BYTES} bytes", "yaml")
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise InvalidContract(f"not YAML{where}: {getattr(err, 'problem', err)}", "yaml") from None
    if not isinstance(doc, dict):
        raise InvalidContract("an ODCS contract is a YAML mapping", "yaml")
    # The standard's JSON Schema first (enums, required fields, formats), then its models.
    error = best_match(_validator().iter_errors(doc))
    if error is not None:
        path = ".".join(str(p) for p in error.absolute_path) or "(document)"
        raise InvalidContract(f"{path}: {error.message}", path)
    if not str(doc.get("apiVersion", "")).startswith("v3."):
        raise InvalidContract(f"apiVersion {doc.get('apiVersion')!r}: ODCS v3 only", "apiVersion")
    try:
        return OpenDataContractStandard.model_validate(doc)
    except ValidationError as err:
        first = err.errors()[0]
        path = ".".join(str(p) for p in first["loc"])
        raise InvalidContract(f"{path}: {first['msg']}", path) from None


@cache
def _validator() -> Draft201909Validator:
    schema = resources.files("open_data_contract_standard").joinpath("schema.json")
    return Draft201909Validator(_conditions_need_their_key(json.loads(schema.read_text())))


def _conditions_need_their_key(node: Any) -> Any:
    """The standard's schema says ``if: {properties: {logicalType: {const: map}}}``, which holds
    when ``logicalType`` is absent too, so a property with only a ``physicalType`` would have
    to satisfy every type's ``then``; a condition here also requires the key it tests."""
    if isinstance(node, list):
        return [_conditions_need_their_key(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _conditions_need_their_key(v) for k, v in node.items()}
    cond = out.get("if")
    if isinstance(cond, dict) and isinstance(cond.get("properties"), dict):
        out["if"] = {**cond, "required": sorted(cond["properties"])}
    return out


def export(contract: OpenDataContractStandard) -> str:
    return contract.to_yaml()


@dataclass(frozen=True)
class ColumnSpec:
    logical: str | None
    physical: str | None
    required: bool
    primary_key: bool


def _columns(props: list[SchemaProperty] | None) -> dict[str, ColumnSpec]:
    return {
        p.name: ColumnSpec(
            logical=p.logicalType,
            physical=p.physicalType,
            required=bool(p.required),
            primary_key=bool(p.primaryKey),
        )
        for p in props or []
        if p.name
    }


def tables(contract: OpenDataContractStandard) -> dict[str, dict[str, ColumnSpec]]:
    """The contract's schema: table name (its physical name if given) -> columns."""
    return {
        (o.physicalName or o.name): _columns(o.properties)
        for o in contract.schema_ or []
        if o.physicalName or o.name
    }


def breaking_changes(old: OpenDataContractStandard, new: OpenDataContractStandard) -> list[str]:
    """What ``new`` breaks of ``old``: removed or retyped columns, narrowed nullability, changed
    keys, removed tables. Additions and widened nullability are compatible."""
    found = []
    before, now = tables(old), tables(new)
    for table, columns in before.items():
        if table not in now:
            found.append(f"{table}: table removed")
            continue
        for name, was in columns.items():
            col = now[table].get(name)
            if col is None:
                found.append(f"{table}.{name}: column removed")
                continue
            for kind, a, b in (
                ("logical type", was.logical, col.logical),
                ("physical type", was.physical, col.physical),
            ):
                if a is not None and _base(a) != _base(b):
                    found.append(f"{table}.{name}: {kind} changed from {a} to {b}")
            if col.required and not was.required:
                found.append(f"{table}.{name}: nullability narrowed (now required)")
            if col.primary_key != was.primary_key:
                found.append(f"{table}.{name}: primary key changed")
    return found


def _base(data_type: str | None) -> str:
    """``VARCHAR(255)`` and ``varchar`` are one type for comparison."""
    return re.sub(r"\s*\(.*\)\s*$", "", data_type or "").strip().lower()


# ODCS logical types and the physical types the scans report that satisfy them.
LOGICAL: dict[str, set[str]] = {
    "string": {"varchar", "char", "character varying", "character", "text", "string",
               "uuid", "enum", "longtext", "mediumtext", "tinytext", "citext", "objectid"},
    "integer": {"int", "integer", "bigint", "smallint", "tinyint", "mediumint", "serial",
                "bigserial", "int2", "int4", "int8", "long"},
    "number": {"numeric", "decimal", "float", "double", "double precision", "real", "float4",
               "float8", "money", "int", "integer", "bigint", "smallint"},
    "boolean": {"boolean", "bool", "bit", "tinyint"},
    "date": {"date", "timestamp", "timestamptz", "datetime", "timestamp without time zone",
             "timestamp with time zone", "time"},
    "timestamp": {"timestamp", "timestamptz", "datetime", "timestamp without time zone",
                  "timestamp with time zone"},
    "object": {"json", "jsonb", "object", "document"},
    "array": {"array", "json", "jsonb"},
}  # fmt: skip


@dataclass(frozen=True)
class Discovered:
    """A table the scans found behind an output port, with its columns."""

    urn: str
    name: str
    columns: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> props
    row_count: int | None = None
    last_seen_at: datetime | None = None  # when a scan last saw it: its freshness


def drift(
    contract: OpenDataContractStandard, discovered: list[Discovered]
) -> list[tuple[str, str]]:
    """Where the output ports no longer match the contract: (URN or table, violation)."""
    by_name = {d.name.lower(): d for d in discovered}
    found: list[tuple[str, str]] = []
    for table, columns in tables(contract).items():
        seen = by_name.get(table.lower())
        if seen is None:
            found.append((table, f"{table}: no output port exposes this table"))
            continue
        actual = {k.lower(): v for k, v in seen.columns.items()}
        for name, spec in columns.items():
            col = actual.get(name.lower())
            where = f"{table}.{name}"
            if col is None or col.get("removedAt"):
                found.append((seen.urn, f"{where}: column missing from the source"))
                continue
            data_type = _base(col.get("dataType"))
            if spec.physical and _base(spec.physical) != data_type:
                found.append(
                    (seen.urn, f"{where}: source type {data_type}, contract {spec.physical}")
                )
            elif spec.logical in LOGICAL and data_type and data_type not in LOGICAL[spec.logical]:
                found.append((seen.urn, f"{where}: source type {data_type} is not {spec.logical}"))
            if spec.required and col.get("nullable", True):
                found.append((seen.urn, f"{where}: required by the contract, nullable in source"))
    return found
