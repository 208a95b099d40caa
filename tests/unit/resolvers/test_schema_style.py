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
# Lists on object types that stay plain lists, and why: each is bounded by construction, or is
# a mutation's one-off answer. A list that grows with the estate or with time is a Connection.
BOUNDED_LISTS = {
    "AssignmentPayload.tables": "the first 500 tables the assignment reached (resolvers/"
    "common.py MAX_ANSWERED); tableCount counts all",
    "CatalogChange.fields": "the names of an asset's fields that one change touched",
    "ClassifierModel.metrics": "one per label of the model's taxonomy",
    "ClassifyPayload.columns": "the columns of the one table classified",
    "Column.labels": "one per label of the taxonomy (own, or inherited once)",
    "Column.owners": "describeAsset sets one owner team (it replaces the others)",
    "Column.tags": "at most 50 (describeAsset validation)",
    "Compatibility.breakingChanges": "changes between two contracts of at most 512 KiB",
    "ComplianceReport.controls": "the framework's controls, shipped with this version",
    "ComplianceReport.ruleSetVersions": "the rule sets in force and those its findings came from",
    "ConsumerUsage.days": "one per day, kept 400 days (mesh/usage.py RETENTION_DAYS)",
    "DataProduct.inputPorts": "named in one createDataProduct request (at most 128 KiB)",
    "DataProduct.outputPorts": "at most 50 ports (mesh/products.py MAX_PORTS)",
    "DataProduct.streamPorts": "at most 50 ports (mesh/products.py MAX_PORTS)",
    "DataProduct.tags": "at most 50 (mesh/products.py MAX_TAGS)",
    "DataSource.configuredDatabases": "named in one registration request (at most 128 KiB)",
    "Database.owners": "describeAsset sets one owner team (it replaces the others)",
    "Database.tags": "at most 50 (describeAsset validation)",
    "Dataset.fields": "the schema facet of one OpenLineage event (at most 1 MiB)",
    "Dataset.owners": "describeAsset sets one owner team (it replaces the others)",
    "Dataset.tags": "at most 50 (describeAsset validation)",
    "Domain.owners": "at most 200 people (mesh/domains.py MAX_PEOPLE)",
    "EffectiveRule.controls": "the controls its rule template implements",
    "EffectiveRuleSet.rules": "the rules in force for one asset, of policy versions of at most "
    "200 rules each (governance/policies.py MAX_RULES)",
    "EvaluationSummary.scores": "one per framework and domain evaluated",
    "Finding.domains": "the domains of one asset",
    "Framework.controls": "the framework's controls, shipped with this version",
    "Impact.assets": "at most 1000 (graph/lineage_queries.py MAX_IMPACT; truncated says so)",
    "Impact.owners": "the owner teams of at most 1000 impacted assets",
    "ImpactedAsset.labels": "the labels of one asset and its columns",
    "ImpactedAsset.owners": "the owner teams of one asset",
    "IncompatibleVersionError.changes": "changes between two contracts of at most 512 KiB",
    "InheritedLabel.path": "a label travels at most 10 hops (graph/inheritance.py)",
    "InheritedLabel.via": "a label travels at most 10 hops (graph/inheritance.py)",
    "LabelAssignment.contributions": "one per detector",
    "LabelAssignment.evidence": "one per detector",
    "LabelCandidate.contributions": "one per detector",
    "LabelEvidence.examples": "the column's sample, at most the source's sampleSize",
    "LabelInheritance.path": "a label travels at most 10 hops (graph/inheritance.py)",
    "LabelInheritance.via": "a label travels at most 10 hops (graph/inheritance.py)",
    "LineageEdge.transformations": "how one column is derived (OpenLineage columnLineage)",
    "LineageGraph.edges": "between at most 500 nodes (graph/lineage_queries.py MAX_NODES)",
    "LineageGraph.nodes": "at most 500 (graph/lineage_queries.py MAX_NODES; truncated says so)",
    "MaskingRule.labels": "written in one setMaskingRules request (at most 128 KiB)",
    "MaskingRule.roles": "written in one setMaskingRules request (at most 128 KiB)",
    "MaskingRules.rules": "written in one setMaskingRules request (at most 128 KiB)",
    "NonCompliantError.findings": "at most 20 (graph/products.py BLOCKING)",
    "PolicyTestRun.cases": "written in one updatePolicyVersion request (at most 128 KiB)",
    "PolicyVersion.authors": "the people who edited one draft",
    "PolicyVersion.rules": "at most 200 (governance/policies.py MAX_RULES): a version is "
    "reviewed and approved whole",
    "PolicyViolationError.rules": "the rules in force that refuse one step",
    "ProductVersion.drift": "where one contract (at most 512 KiB) differs from its ports",
    "ProductVersion.quality": "the quality rules of one contract (at most 512 KiB)",
    "ProductVersion.qualityRuns": "the newest `last`, at most 100",
    "QualityRun.outcomes": "the quality rules of one contract (at most 512 KiB)",
    "ReevaluationPayload.changes": "the first 500 changes of a run (resolvers/common.py "
    "MAX_ANSWERED); changeCount counts all",
    "ReevaluationPayload.previousModels": "the model versions that had scored the columns",
    "Rule.controls": "the controls its rule template implements",
    "RuleTemplate.controls": "the template's, shipped with this version",
    "RuleTemplate.parameters": "the template's, shipped with this version",
    "Scan.warnings": "at most 100 (ingest/scan.py MAX_WARNINGS)",
    "Schema.owners": "describeAsset sets one owner team (it replaces the others)",
    "Schema.tags": "at most 50 (describeAsset validation)",
    "SchemaDiff.added": "columns of one table: engines cap them (PostgreSQL 1600, MySQL 4096)",
    "SchemaDiff.changed": "columns of one table: engines cap them (PostgreSQL 1600, MySQL 4096)",
    "SchemaDiff.removed": "columns of one table: engines cap them (PostgreSQL 1600, MySQL 4096)",
    "SchemaVersion.columns": "columns of one table: engines cap them (PostgreSQL 1600, MySQL 4096)",
    "SearchHit.highlights": "OpenSearch's highlight fragments of one hit",
    "ServerInfo.degraded": "the dependencies this version uses",
    "ServerInfo.dependencies": "the dependencies this version uses",
    "ServerInfo.workers": "one per worker process of the deployment",
    "Table.columns": "live columns of one table: engines cap them (PostgreSQL 1600, MySQL "
    "4096); removed ones, which add up with rescans, page in removedColumns",
    "Table.labels": "its columns' labels: capped columns times the taxonomy",
    "Table.owners": "describeAsset sets one owner team (it replaces the others)",
    "Table.primaryKey": "columns of one table: engines cap them (PostgreSQL 1600, MySQL 4096)",
    "Table.tags": "at most 50 (describeAsset validation)",
    "Team.members": "at most 200 people (mesh/domains.py MAX_PEOPLE)",
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


def test_object_lists_that_can_grow_are_connections() -> None:
    """``DataProduct.versions``, ``ProductVersion.consumers`` and ``Domain.teams`` were plain
    lists: hundreds of versions, each with its contract, in every answer that named a product.
    A connection's ``edges`` and a payload's ``errors`` are lists by design."""
    roots = {SDL.query_type, SDL.mutation_type, SDL.subscription_type}
    plain = {
        f"{type_.name}.{name}"
        for type_ in SDL.type_map.values()
        if isinstance(type_, GraphQLObjectType)
        and not type_.name.startswith("__")
        and type_ not in roots
        for name, field in type_.fields.items()
        if _is_list(field)
        and not (type_.name.endswith("Connection") and name == "edges")
        and not (type_.name.endswith("Payload") and name == "errors")
    }
    assert sorted(plain - BOUNDED_LISTS.keys()) == [], "a Connection, or a reason in BOUNDED_LISTS"
    assert sorted(BOUNDED_LISTS.keys() - plain) == [], "no longer a list: drop it"


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
