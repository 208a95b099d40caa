"""Data contracts in the Open Data Contract Standard (ODCS v3): parse, export, compare, check.

Documents are parsed into the standard's own pydantic models (``open-data-contract-standard``),
so an invalid one is refused with the path of its bad field, and exported back as ODCS YAML.
Two versions are compared structurally (``breaking_changes``): a removed table, column or
nested property, a changed or narrowed type, a column made required, or a changed primary key
breaks consumers. A contract is checked against what the scans discovered in the product's
output ports (``drift``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

import jsonschema_rs
import yaml
from open_data_contract_standard.model import OpenDataContractStandard, SchemaProperty
from pydantic import ValidationError

from mesh.errors import InvalidContract

MAX_BYTES = 512 * 1024


def _check_size(text: str) -> None:
    if len(text.encode()) > MAX_BYTES:
        raise InvalidContract(f"a contract has at most {MAX_BYTES} bytes", "yaml")


class _NoAliases(yaml.SafeLoader):
    """The safe loader, refusing aliases: a few bytes of nested aliases expand to gigabytes
    (billion laughs), and a contract machines exchange has no use for them."""

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            line = self.peek_event().start_mark.line + 1
            raise InvalidContract(f"YAML alias at line {line}: a contract has no aliases", "yaml")
        return super().compose_node(parent, index)


def _text(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    return str(loader.construct_scalar(node))  # type: ignore[arg-type]


# A contract is JSON in YAML's clothes: an unquoted `2026-12-01T10:00:00Z` is the standard's
# date-time text, checked as such by its schema, not a Python datetime no JSON Schema can hold.
_NoAliases.add_constructor("tag:yaml.org,2002:timestamp", _text)


def _load(text: str) -> Any:
    loader = _NoAliases(text)
    try:
        return loader.get_single_data()
    except RecursionError:  # a few hundred nested brackets: the composer recurses per level
        raise InvalidContract("YAML nested too deep for a contract", "yaml") from None
    finally:
        loader.dispose()


# The standard's schema checks nested properties with ``unevaluatedProperties``, which cost the
# pure-Python jsonschema three times more per level (1.9 s at six levels of a 655-byte
# contract, minutes at ten, the event loop blocked): jsonschema-rs takes a millisecond at any
# depth.


def _schema_error(doc: dict[str, Any], formats: bool) -> tuple[str, str] | None:
    """(path, message) of what the standard's JSON Schema refuses in ``doc`` (its formats too,
    if ``formats``), or None: the deepest error, since a bad nested field also fails every
    object around it ("unevaluated properties")."""
    try:
        errors = list(_judge(formats).iter_errors(doc))
    except ValueError as err:  # YAML's own types (!!binary, !!set) have no JSON equivalent
        return "yaml", f"a contract holds JSON values only ({err})"
    if not errors:
        return None
    deepest = max(errors, key=lambda e: len(e.instance_path))
    return ".".join(str(p) for p in deepest.instance_path) or "(document)", deepest.message


def parse(text: str, *, stored: bool = False) -> OpenDataContractStandard:
    """An ODCS v3 document, or InvalidContract naming the bad field's path. A contract
    ``stored`` with a version is read as it was accepted then: its formats (date-times, URIs)
    are not checked again (earlier releases stored contracts without checking them), or a
    version whose contract no longer parsed could not be compared, gated, published or checked
    for drift."""
    _check_size(text)
    try:
        doc = _load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise InvalidContract(f"not YAML{where}: {getattr(err, 'problem', err)}", "yaml") from None
    if not isinstance(doc, dict):
        raise InvalidContract("an ODCS contract is a YAML mapping", "yaml")
    # The standard's JSON Schema first (enums, required fields, formats), then its models.
    if refused := _schema_error(doc, formats=not stored):
        path, message = refused
        raise InvalidContract(f"{path}: {message}", path)
    if not str(doc.get("apiVersion", "")).startswith("v3."):
        raise InvalidContract(f"apiVersion {doc.get('apiVersion')!r}: ODCS v3 only", "apiVersion")
    try:
        contract = OpenDataContractStandard.model_validate(doc)
    except ValidationError as err:
        first = err.errors()[0]
        path = ".".join(str(p) for p in first["loc"])
        raise InvalidContract(f"{path}: {first['msg']}", path) from None
    _named_once(contract.schema_ or [], "schema", "table")
    return contract


def _named_once(items: list[Any], path: str, what: str) -> None:
    """Each table, and each column or nested property of one, named once (its physicalName,
    else name, as the scans know it): a second was silently the only one compatibility, drift
    and quality gates read."""
    seen: set[str] = set()
    for i, item in enumerate(items):
        name = item.physicalName or item.name
        if name is not None and name in seen:
            raise InvalidContract(f"{path}.{i}: a second {what} named {name!r}", f"{path}.{i}")
        seen.add(name)
        if item.properties:
            _named_once(item.properties, f"{path}.{i}.properties", "column or property")


@cache
def _schema() -> dict[str, Any]:
    text = resources.files("open_data_contract_standard").joinpath("schema.json").read_text()
    return _conditions_need_their_key(json.loads(text))


@cache
def _judge(formats: bool) -> jsonschema_rs.Validator:
    return jsonschema_rs.Draft201909Validator(_schema(), validate_formats=formats)


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
    """The contract as ODCS YAML, refused past MAX_BYTES: what is stored must parse again."""
    text = contract.to_yaml()
    _check_size(text)
    return text


def words(contract: OpenDataContractStandard) -> list[str]:
    """What the contract says in words: purpose and usage, each table's and column's name,
    business name and description (product search documents, mesh/search.py)."""
    d = contract.description
    found = [d.purpose or "", d.usage or ""] if d else []
    for obj in contract.schema_ or []:
        found += [obj.name or "", obj.businessName or "", obj.description or ""]
        for prop in obj.properties or []:
            found += [prop.name or "", prop.businessName or "", prop.description or ""]
    return [w for w in found if w]


def findable(contract: OpenDataContractStandard) -> str:
    """The text ``dataProducts(text:)`` matches in a contract: its ``words`` and its SLA, not
    the YAML around them (``apiVersion``, ``logicalType``, ``status`` named every product)."""
    sla = [
        " ".join(str(x) for x in (s.property, s.value, s.unit, s.description) if x is not None)
        for s in contract.slaProperties or []
    ]
    return "\n".join([*words(contract), *sla])


ITEMS = "[]"  # the path segment of an array's items: ``tags[]``


@dataclass(frozen=True)
class ColumnSpec:
    logical: str | None
    physical: str | None
    required: bool
    primary_key: bool
    key_position: int | None = None
    fields: dict[str, ColumnSpec] = field(default_factory=dict)  # nested properties, ITEMS


def _spec(p: SchemaProperty) -> ColumnSpec:
    fields = _columns(p.properties)
    if p.items is not None:
        fields[ITEMS] = _spec(p.items)
    return ColumnSpec(
        logical=p.logicalType,
        physical=p.physicalType,
        required=bool(p.required),
        primary_key=bool(p.primaryKey),
        key_position=p.primaryKeyPosition if p.primaryKey else None,
        fields=fields,
    )


def _columns(props: list[SchemaProperty] | None) -> dict[str, ColumnSpec]:
    """Columns by physical name (else name), as the source knows them: a renamed physical
    column is another column."""
    return {(p.physicalName or p.name): _spec(p) for p in props or [] if p.physicalName or p.name}


def tables(contract: OpenDataContractStandard) -> dict[str, dict[str, ColumnSpec]]:
    """The contract's schema: table name (its physical name if given) -> columns."""
    return {
        (o.physicalName or o.name): _columns(o.properties)
        for o in contract.schema_ or []
        if o.physicalName or o.name
    }


def breaking_changes(old: OpenDataContractStandard, new: OpenDataContractStandard) -> list[str]:
    """What ``new`` breaks of ``old``: removed tables, columns or nested properties, retyped or
    narrowed types, narrowed nullability, a changed primary key. Additions, widened types and
    widened nullability are compatible."""
    found = []
    before, now = tables(old), tables(new)
    for table, columns in before.items():
        if table not in now:
            found.append(f"{table}: table removed")
            continue
        key, new_key = _primary_key(columns), _primary_key(now[table])
        if key != new_key:
            found.append(f"{table}: primary key changed from ({', '.join(key)}) to "
                         f"({', '.join(new_key)})")  # fmt: skip
        found += _changed_fields(table, columns, now[table], nested=False)
    return found


def _primary_key(columns: dict[str, ColumnSpec]) -> list[str]:
    """The key's columns in key order (``primaryKeyPosition``, then as listed)."""
    keyed = [
        (c.key_position is None, c.key_position or 0, i, name)
        for i, (name, c) in enumerate(columns.items())
        if c.primary_key
    ]
    return [name for *_, name in sorted(keyed)]


def _changed_fields(
    where: str, before: dict[str, ColumnSpec], now: dict[str, ColumnSpec], *, nested: bool
) -> list[str]:
    found = []
    for name, was in before.items():
        path = f"{where}{name}" if name == ITEMS else f"{where}.{name}"
        col = now.get(name)
        if col is None:
            found.append(f"{path}: {'property' if nested else 'column'} removed")
            continue
        found += _changed_column(path, was, col)
        found += _changed_fields(path, was.fields, col.fields, nested=True)
    return found


def _changed_column(path: str, was: ColumnSpec, col: ColumnSpec) -> list[str]:
    found = []
    for kind, a, b in (
        ("logical type", was.logical, col.logical),
        ("physical type", was.physical, col.physical),
    ):
        if a is not None and _base(a) != _base(b):
            found.append(f"{path}: {kind} changed from {a} to {b}")
        elif a is not None and _narrowed(a, b):
            found.append(f"{path}: {kind} narrowed from {a} to {b}")
    if col.required and not was.required:
        found.append(f"{path}: nullability narrowed (now required)")
    return found


def _base(data_type: str | None) -> str:
    """``VARCHAR(255)`` and ``varchar`` are one type for comparison."""
    return re.sub(r"\s*\(.*\)\s*$", "", data_type or "").strip().lower()


DECIMALS = {"decimal", "numeric", "number", "dec"}


def _bounds(data_type: str | None) -> tuple[int, ...] | None:
    """A type's length (``varchar(10)``: 10), or a decimal's integer and fraction digits
    (``decimal(10,2)``: 8, 2); None when it has none."""
    sizes = re.search(r"\(\s*(\d+(?:\s*,\s*\d+)*)\s*\)\s*$", data_type or "")
    if sizes is None:
        return None
    numbers = [int(n) for n in sizes.group(1).split(",")]
    if _base(data_type) in DECIMALS:
        precision, scale = (*numbers, 0)[:2]
        return precision - scale, scale
    return tuple(numbers)


def _narrowed(was: str, now: str | None) -> bool:
    """Whether ``now`` holds less than ``was``: a bound lowered, or one where there was none."""
    a, b = _bounds(was), _bounds(now)
    return b is not None and (a is None or any(y < x for x, y in zip(a, b, strict=False)))


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
