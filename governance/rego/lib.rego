# Helpers every rule template uses. Facts are one object per asset (graph/compliance.py):
# {urn, kind, source, table, domains, owners, tags, masking,
#  labels: [{name, category, sensitivity, status}]}.
package datawave.lib

# The rules being evaluated: a version under test passes its own, otherwise the active rule set.
default rules := []

rules := input.rules if {
	is_array(input.rules)
} else := data.datawave.active.rules if {
	is_array(data.datawave.active.rules)
}

rules_of(template, version) := [rule |
	some rule in rules
	rule.template == template
	rule.templateVersion == version
]

in_scope(rule, _) if rule.scope.kind == "global"

in_scope(rule, asset) if {
	rule.scope.kind == "domain"
	rule.scope.value in asset.domains
}

in_scope(rule, asset) if {
	rule.scope.kind == "source"
	rule.scope.value == asset.source
}

in_scope(rule, asset) if {
	rule.scope.kind == "category"
	some label in labels(asset)
	label.category == rule.scope.value
}

# Labels that count: confirmed by a steward or suggested by the classifier with confidence.
labels(asset) := [label |
	some label in asset.labels
	label.status in {"confirmed", "suggested"}
]

finding(rule, asset, message, evidence) := {
	"rule": rule.id,
	"asset": asset.urn,
	"message": message,
	"evidence": evidence,
}
