# An operation check of the data mesh: a product workspace (createDataProduct) is only opened
# for a product that names its owner team and says what it is.
# params: require_owner_team; min_description.
package datawave.templates.mesh_product_workspace

import data.datawave.lib

refuse contains {"rule": rule.id, "message": "a product workspace needs an owner team"} if {
	some rule in lib.rules_of("mesh_product_workspace", 1)
	lib.in_scope(rule, input.operation.asset)
	input.operation.action == "createDataProduct"
	rule.params.require_owner_team
	not is_string(input.operation.args.ownerTeam)
}

refuse contains {"rule": rule.id, "message": message} if {
	some rule in lib.rules_of("mesh_product_workspace", 1)
	lib.in_scope(rule, input.operation.asset)
	input.operation.action == "createDataProduct"
	count(trim_space(object.get(input.operation.args, "description", ""))) < rule.params.min_description
	message := sprintf("a product workspace needs a description of at least %d characters", [rule.params.min_description])
}
