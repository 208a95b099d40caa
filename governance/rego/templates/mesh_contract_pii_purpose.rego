# An operation check of the data mesh: a contract whose product exposes columns with labels of
# the given categories (the operation's asset carries them) states its purpose
# (description.purpose) before it is taken (importContract) or published (publishVersion).
# params: categories; min_purpose.
package datawave.templates.mesh_contract_pii_purpose

import data.datawave.lib

refuse contains {"rule": rule.id, "message": message} if {
	some rule in lib.rules_of("mesh_contract_pii_purpose", 1)
	lib.in_scope(rule, input.operation.asset)
	input.operation.action in {"importContract", "publishVersion"}
	personal := {label.name | some label in lib.labels(input.operation.asset); label.category in rule.params.categories}
	count(personal) > 0
	count(trim_space(input.operation.args.contract.purpose)) < rule.params.min_purpose
	message := sprintf("%s exposes %s: its contract needs a purpose (description.purpose) of at least %d characters", [input.operation.args.product, concat(", ", sort(personal)), rule.params.min_purpose])
}
