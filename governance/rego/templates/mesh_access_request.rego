# An operation check of the data mesh: an access request (requestAccess) says why in at least
# min_purpose characters and asks for at most max_days.
# params: min_purpose; max_days.
package datawave.templates.mesh_access_request

import data.datawave.lib

refuse contains {"rule": rule.id, "message": message} if {
	some rule in lib.rules_of("mesh_access_request", 1)
	lib.in_scope(rule, input.operation.asset)
	input.operation.action == "requestAccess"
	count(trim_space(input.operation.args.purpose)) < rule.params.min_purpose
	message := sprintf("an access request states its purpose in at least %d characters", [rule.params.min_purpose])
}

refuse contains {"rule": rule.id, "message": message} if {
	some rule in lib.rules_of("mesh_access_request", 1)
	lib.in_scope(rule, input.operation.asset)
	input.operation.action == "requestAccess"
	input.operation.args.days > rule.params.max_days
	message := sprintf("access is granted for at most %d days, not %d", [rule.params.max_days, input.operation.args.days])
}
