# An operation check: data sources are reached over TLS (registerDataSource with a tls mode
# among the allowed ones), unless their host is exempt (loopback by default: a local stack).
# params: tls_modes; exempt_hosts.
package datawave.templates.source_tls_required

import data.datawave.lib

refuse contains {"rule": rule.id, "message": message} if {
	some rule in lib.rules_of("source_tls_required", 1)
	input.operation.action == "registerDataSource"
	lib.in_scope(rule, input.operation.asset)
	args := input.operation.args
	host := lower(object.get(args, "host", ""))
	not host in rule.params.exempt_hosts
	tls := object.get(args, "tls", "disable")
	not tls in rule.params.tls_modes
	message := sprintf("source %s at %s would connect with tls %v; allowed: %s", [args.name, host, tls, concat(", ", rule.params.tls_modes)])
}
