# Card verification codes are never stored after authorisation (PCI DSS 4.0 3.3.1).
# params: labels — labels that mark a verification code.
package datawave.templates.no_cvv_stored

import data.datawave.lib

deny contains lib.finding(rule, asset, message, {"labels": names}) if {
	some rule in lib.rules_of("no_cvv_stored", 1)
	some asset in input.assets
	lib.in_scope(rule, asset)
	names := sort([label.name | some label in lib.labels(asset); label.name in rule.params.labels])
	count(names) > 0
	message := sprintf("%s stores %s", [asset.urn, concat(", ", names)])
}
