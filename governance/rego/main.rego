# The decision DataWave asks for: every finding of the rules in force over input.assets.
package datawave.main

# Packages of custom Rego in force: [{package, policy}], the version under test's or the active.
default custom := []

custom := input.custom if {
	is_array(input.custom)
} else := data.datawave.active.custom if {
	is_array(data.datawave.active.custom)
}

findings contains finding if {
	some template
	some finding in data.datawave.templates[template].deny
}

# A custom module's findings name its own rule ids; they are qualified by the policy here, and
# kept only for an asset in the scope of that rule, as templates do: a domain's policy cannot
# raise findings in another domain (the asset is looked up by an indexed comprehension).
findings contains object.union(finding, {"rule": id}) if {
	some module in custom
	some finding in data.datawave.custom[module.package].deny
	id := sprintf("%s/%s", [module.policy, finding.rule])
	some rule in data.datawave.lib.rules
	rule.id == id
	urn := finding.asset
	assets := [asset | some asset in input.assets; asset.urn == urn]
	some asset in assets
	data.datawave.lib.in_scope(rule, asset)
}

# Governed mutations (input.operation: {action, actor, args}): the rules that refuse it.
refusals contains refusal if {
	some template
	some refusal in data.datawave.templates[template].refuse
}

# Which rule set answered, so an evaluation notices an activation in the middle of it.
version := data.datawave.active.version

# The rules in force that apply to each asset by their scope: its effective rule set.
applicable[asset.urn] := sort([rule.id | some rule in data.datawave.lib.rules; data.datawave.lib.in_scope(rule, asset)]) if {
	some asset in input.assets
}
