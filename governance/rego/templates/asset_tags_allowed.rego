# An operation check: tags set on assets come from a controlled vocabulary (describeAsset tags
# must start with one of the allowed prefixes).
# params: prefixes.
package datawave.templates.asset_tags_allowed

import data.datawave.lib

refuse contains {"rule": rule.id, "message": message} if {
	some rule in lib.rules_of("asset_tags_allowed", 1)
	lib.in_scope(rule, input.operation.asset)
	input.operation.action == "describeAsset"
	tags := object.get(input.operation.args, "tags", [])
	is_array(tags)
	some tag in tags
	not allowed(tag, rule.params.prefixes)
	message := sprintf("tag %q is not in the vocabulary (%s)", [tag, concat(", ", rule.params.prefixes)])
}

allowed(tag, prefixes) if {
	some prefix in prefixes
	startswith(tag, prefix)
}
