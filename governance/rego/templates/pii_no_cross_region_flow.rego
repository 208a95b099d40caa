# Personal data stays in the allowed regions, also where lineage carries it (GDPR Art. 44):
# a column holding such labels, or fed through FEEDS by columns that do, must be tagged with an
# allowed region (e.g. region:eu on it or its table).
# params: categories — label categories of personal data; allowed_regions; tag_prefix;
# unknown_is_violation — whether a column without a region tag fails.
package datawave.templates.pii_no_cross_region_flow

import data.datawave.lib

deny contains lib.finding(rule, asset, message, {"labels": names, "regions": regions}) if {
	some rule in lib.rules_of("pii_no_cross_region_flow", 1)
	some asset in input.assets
	lib.in_scope(rule, asset)
	names := sort([label.name |
		some label in array.concat(lib.labels(asset), object.get(asset, "upstreamLabels", []))
		label.category in rule.params.categories
	])
	count(names) > 0
	regions := sort([trim_prefix(tag, rule.params.tag_prefix) |
		some tag in asset.tags
		startswith(tag, rule.params.tag_prefix)
	])
	outside(rule.params, regions)
	message := sprintf("%s holds or receives %s in region(s) %v", [asset.urn, concat(", ", names), regions])
}

outside(params, regions) if {
	some region in regions
	not region in params.allowed_regions
}

outside(params, regions) if {
	count(regions) == 0
	params.unknown_is_violation
}
