# Personal data has a retention period (GDPR Art. 5(1)(e) storage limitation): a tag such as
# retention:P2Y on the column or its table.
# params: categories — label categories that need one; tag_prefix — how the tag starts.
# inherited — whether labels inherited along lineage count (views, jobs: graph/inheritance.py).
package datawave.templates.retention_required

import data.datawave.lib

deny contains lib.finding(rule, asset, message, {"labels": names, "tags": asset.tags}) if {
	some rule in lib.rules_of("retention_required", 1)
	some asset in input.assets
	not has_retention(asset, rule.params.tag_prefix)
	lib.in_scope(rule, asset)
	names := sort([label.name | some label in lib.counted(rule, asset); label.category in rule.params.categories])
	count(names) > 0
	message := sprintf("%s holds %s and has no retention period", [asset.urn, concat(", ", names)])
}

has_retention(asset, prefix) if {
	some tag in asset.tags
	startswith(tag, prefix)
}
