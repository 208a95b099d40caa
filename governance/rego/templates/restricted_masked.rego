# Sensitive values are unreadable to roles without need (GDPR Art. 32, PCI DSS 3.5.1,
# HIPAA 164.312(a)(2)(iv)): the masking strategy DataWave applies to the column's sensitivity
# must be one of the allowed ones.
# params: sensitivities — which sensitivities this covers; strategies — allowed masking.
# inherited — whether labels inherited along lineage count (views, jobs: graph/inheritance.py).
package datawave.templates.restricted_masked

import data.datawave.lib

deny contains lib.finding(rule, asset, message, {"labels": names, "masking": masking}) if {
	some rule in lib.rules_of("restricted_masked", 1)
	some asset in input.assets
	some sensitivity in rule.params.sensitivities
	masking := object.get(asset.masking, sensitivity, "clear")
	not masking in rule.params.strategies
	lib.in_scope(rule, asset)
	names := sort([label.name | some label in lib.counted(rule, asset); label.sensitivity == sensitivity])
	count(names) > 0
	message := sprintf("%s holds %s (%s) and shows it as %s", [asset.urn, concat(", ", names), sensitivity, masking])
}
