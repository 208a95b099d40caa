# An operation check of the data mesh: a contract taken into a product version (importContract)
# or published (publishVersion) has an owner (a team in the contract, or the product's owner
# team) and states the SLA properties listed.
# params: sla_properties.
package datawave.templates.mesh_contract_owner_sla

import data.datawave.lib

actions := {"importContract", "publishVersion"}

refuse contains {"rule": rule.id, "message": message} if {
	some rule in lib.rules_of("mesh_contract_owner_sla", 1)
	lib.in_scope(rule, input.operation.asset)
	input.operation.action in actions
	count(input.operation.args.contract.owners) == 0
	message := sprintf("the contract of %s has no owner: name its team in the contract or give the product an owner team", [input.operation.args.version])
}

refuse contains {"rule": rule.id, "message": message} if {
	some rule in lib.rules_of("mesh_contract_owner_sla", 1)
	lib.in_scope(rule, input.operation.asset)
	input.operation.action in actions
	missing := [p | some p in rule.params.sla_properties; not p in input.operation.args.contract.sla]
	count(missing) > 0
	message := sprintf("the contract of %s states no SLA for %s", [input.operation.args.version, concat(", ", missing)])
}
