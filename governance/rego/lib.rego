# Helpers every rule template uses. Facts are one object per asset (graph/compliance.py):
# {urn, kind, source, table, domains, owners, tags, masking,
#  labels: [{name, category, sensitivity, status}],
#  inheritedLabels: [{name, category, sensitivity, status, sourceStatus, from, path, via}],
#  destinations: [{urn, source, labels, tags, domains}]}.
# Templates test their cheapest, most selective conditions first: OPA evaluates a rule body in
# the order it is written, and a full evaluation asks about every labelled column.
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
	some label in counted(rule, asset)
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

# Labels that arrive along lineage (graph/inheritance.py) and count: the source's label does.
inherited(asset) := [label |
	some label in object.get(asset, "inheritedLabels", [])
	label.sourceStatus in {"confirmed", "suggested"}
]

# The labels a rule counts: a column's own, and those it inherits when the rule's parameter
# ``inherited`` says so (rules added before the parameter existed keep to their own).
counted(rule, asset) := array.concat(labels(asset), inherited(asset)) if {
	object.get(rule.params, "inherited", false)
} else := labels(asset)
