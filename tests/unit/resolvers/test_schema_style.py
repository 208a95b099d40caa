"""The API's style rules, checked on the schema the code builds, so new fields follow them
(issue 12; docs/graphql-api.md, Conventions): lists that can grow are Relay connections paged
the same way, closed sets are enums, and every mutation returns a payload with `errors`."""

from __future__ import annotations

from graphql import (
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    get_named_type,
)

from resolvers.schema import schema

SDL = schema._schema
QUERY, MUTATION = SDL.query_type, SDL.mutation_type
# Root lists that stay plain lists, and why. A new one needs a reason here.
PLAIN_LISTS = {
    "ruleTemplates": "the templates shipped with this version: a closed set",
    "frameworks": "the compliance frameworks shipped with this version: a closed set",
}
# Arguments and input fields with these names hold a closed set of values: an enum.
CLOSED_SETS = {"kind", "kinds", "status", "statuses", "stage", "sensitivity", "severity"}
# Open sets, and why they stay strings.
OPEN_SETS = {
    ("DataSourceInput", "kind"): "connector kinds come from the connector registry (plugins)",
    ("DataSource", "kind"): "connector kinds come from the connector registry (plugins)",
    ("TemplateParameter", "type"): "a JSON Schema fragment of the parameter",
    ("ComplianceUpdate", "status"): "a score's ComplianceStatus or a finding's FindingStatus",
    ("DatasetField", "type"): "the producer's own type name (OpenLineage schema facet)",
}
# Output fields with these names hold a closed set too.
CLOSED_OUTPUTS = CLOSED_SETS | {"state", "mode", "type", "outcome", "role"}


def _is_list(field: GraphQLField) -> bool:
    t = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
    return isinstance(t, GraphQLList)


def _connections() -> list[tuple[str, str, GraphQLField]]:
    return [
        (type_.name, name, field)
        for type_ in SDL.type_map.values()
        if isinstance(type_, GraphQLObjectType) and not type_.name.startswith("__")
        for name, field in type_.fields.items()
        if get_named_type(field.type).name.endswith("Connection")
    ]


def test_root_lists_that_can_grow_are_connections() -> None:
    assert QUERY is not None
    plain = {name for name, field in QUERY.fields.items() if _is_list(field)}
    assert plain - PLAIN_LISTS.keys() == set(), "return a Connection (resolvers/pagination.py)"
    assert PLAIN_LISTS.keys() - plain == set(), "no longer a list: drop it from PLAIN_LISTS"


def test_connections_page_the_same_way() -> None:
    """Relay's shape, with `first` and `after`; `first` is checked by check_page_size."""
    found = _connections()
    assert len(found) > 10
    for owner, name, field in found:
        connection = get_named_type(field.type)
        assert isinstance(connection, GraphQLObjectType)
        assert {"edges", "pageInfo", "totalCount"} <= connection.fields.keys(), connection.name
        edge = get_named_type(connection.fields["edges"].type)
        assert isinstance(edge, GraphQLObjectType)
        assert {"node", "cursor"} <= edge.fields.keys(), edge.name
        assert {"first", "after"} <= field.args.keys(), f"{owner}.{name} pages with first/after"
        assert "offset" not in field.args, f"{owner}.{name}: cursors, not offsets"


def test_closed_sets_are_enums() -> None:
    """``search(kind: "VIEW")`` found nothing because kind was a String taking only "view"."""
    strings = []
    for type_ in SDL.type_map.values():
        if type_.name.startswith("__"):
            continue
        if isinstance(type_, GraphQLObjectType):
            for field_name, field in type_.fields.items():
                strings += [
                    (f"{type_.name}.{field_name}", arg)
                    for arg, value in field.args.items()
                    if arg in CLOSED_SETS
                    and isinstance(get_named_type(value.type), GraphQLScalarType)
                ]
        if isinstance(type_, GraphQLInputObjectType):
            strings += [
                (type_.name, name)
                for name, value in type_.fields.items()
                if name in CLOSED_SETS
                and isinstance(get_named_type(value.type), GraphQLScalarType)
                and (type_.name, name) not in OPEN_SETS
            ]
    assert strings == [], "make these enums (strawberry.enum)"


def test_closed_sets_are_enums_in_answers_too() -> None:
    """A UI switching on `status == "confirmed"` breaks silently when a value changes; an enum
    is in the SDL codegen reads, so the compiler sees every value."""
    strings = [
        (type_.name, name)
        for type_ in SDL.type_map.values()
        if isinstance(type_, GraphQLObjectType) and not type_.name.startswith("__")
        for name, field in type_.fields.items()
        if name in CLOSED_OUTPUTS
        and isinstance(get_named_type(field.type), GraphQLScalarType)
        and (type_.name, name) not in OPEN_SETS
    ]
    assert strings == [], "make these enums (strawberry.enum), or say why in OPEN_SETS"


def test_every_mutation_returns_a_payload_with_errors() -> None:
    assert MUTATION is not None
    for name, field in MUTATION.fields.items():
        payload = get_named_type(field.type)
        assert isinstance(payload, GraphQLObjectType), name
        assert payload.name.endswith("Payload"), f"{name} returns {payload.name}"
        errors = payload.fields.get("errors")
        assert errors is not None, f"{payload.name} has no errors field"
        assert str(errors.type) == "[UserError!]!", f"{payload.name}.errors is {errors.type}"


def test_urns_are_ids() -> None:
    """A URN names a node (``node(id:)`` takes it): every field and argument called ``urn``
    or ``…Urn`` is an ``ID``, as ``catalogChanges``' ``urn`` is (a String once)."""
    named = [
        (f"{type_.name}.{name}", field.type)
        for type_ in SDL.type_map.values()
        if isinstance(type_, GraphQLObjectType | GraphQLInputObjectType)
        and not type_.name.startswith("__")
        for name, field in type_.fields.items()
        if name == "urn" or name.endswith("Urn")
    ]
    named += [
        (f"{root.name}.{fname}({arg})", argument.type)
        for root in (QUERY, MUTATION)
        if root is not None
        for fname, field in root.fields.items()
        for arg, argument in field.args.items()
        if arg == "urn" or arg.endswith("Urn")
    ]
    assert named
    assert [where for where, t in named if get_named_type(t).name != "ID"] == []
