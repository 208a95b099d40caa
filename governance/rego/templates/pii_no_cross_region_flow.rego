# Personal data stays in the allowed regions, also where lineage carries it (GDPR Art. 44).
# A column fails when it holds or inherits such labels (graph/inheritance.py: along views and
# jobs, until a hashing hop or a steward's rejection stops them) and is tagged with a region
# outside the allowed ones (e.g. region:us on it or its table); and a column whose own such
# labels flow into destinations tagged outside them fails too, so the domain the data comes
# from sees the transfer. One finding per column names both.
# params: categories — label categories of personal data; allowed_regions; tag_prefix;
# unknown_is_violation — whether a column (or destination) without a region tag fails.
package datawave.templates.pii_no_cross_region_flow

import data.datawave.lib

deny contains lib.finding(rule, asset, message, evidence) if {
	some rule in lib.rules_of("pii_no_cross_region_flow", 1)
	some asset in input.assets
	regions := regions_of(rule.params, asset.tags)
	names := held_outside(rule.params, asset, regions)
	flows := flows_out(rule.params, asset)
	count(names) + count(flows) > 0
	lib.in_scope(rule, asset)
	evidence := object.union(
		{"labels": names, "regions": regions},
		{key: value | some key, value in {"receivedFrom": received_from(rule.params, asset), "flowsInto": flows}; count(value) > 0},
	)
	message := describe(asset, names, regions, flows)
}

regions_of(params, tags) := sort([trim_prefix(tag, params.tag_prefix) |
	some tag in tags
	startswith(tag, params.tag_prefix)
])

personal(params, labels) := sort({label.name | some label in labels; label.category in params.categories})

# The personal labels a column holds or inherits, when its own regions are outside.
held_outside(params, asset, regions) := personal(params, array.concat(lib.labels(asset), lib.inherited(asset))) if {
	outside(params, regions)
} else := []

# Where the inherited ones come from: the nearest source and the path to it.
received_from(params, asset) := [{"label": label.name, "from": label.from, "path": label.path} |
	some label in lib.inherited(asset)
	label.category in params.categories
]

# The destinations outside the regions that inherit personal labels from this column.
flows_out(params, asset) := [{"urn": d.urn, "labels": names, "regions": there} |
	some d in object.get(asset, "destinations", [])
	there := regions_of(params, d.tags)
	outside(params, there)
	own := personal(params, lib.labels(asset))
	names := sort([name | some name in d.labels; name in own])
	count(names) > 0
]

describe(asset, names, regions, []) := sprintf("%s holds or receives %s in region(s) %v", [asset.urn, concat(", ", names), regions])

describe(asset, [], _, flows) := sprintf("%s's %s flow(s) into %s outside the allowed regions", [asset.urn, concat(", ", {n | some d in flows; some n in d.labels}), concat(", ", [d.urn | some d in flows])]) if count(flows) > 0

describe(asset, names, regions, flows) := sprintf("%s holds or receives %s in region(s) %v, and flows into %s", [asset.urn, concat(", ", names), regions, concat(", ", [d.urn | some d in flows])]) if {
	count(names) > 0
	count(flows) > 0
}

outside(params, regions) if {
	some region in regions
	not region in params.allowed_regions
}

outside(params, regions) if {
	count(regions) == 0
	params.unknown_is_violation
}
