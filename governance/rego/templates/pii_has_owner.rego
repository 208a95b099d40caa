# Personal data has an accountable owner (GDPR Art. 30 records of processing; CCPA).
# params: categories — label categories that make a column personal data.
# inherited — whether labels inherited along lineage count (views, jobs: graph/inheritance.py).
package datawave.templates.pii_has_owner

import data.datawave.lib

deny contains lib.finding(rule, asset, message, {"labels": names}) if {
	some rule in lib.rules_of("pii_has_owner", 1)
	some asset in input.assets
	count(asset.owners) == 0
	lib.in_scope(rule, asset)
	names := sort([label.name | some label in lib.counted(rule, asset); label.category in rule.params.categories])
	count(names) > 0
	message := sprintf("%s holds %s and has no owner", [asset.urn, concat(", ", names)])
}
