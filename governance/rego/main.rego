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

# A custom module's findings name its own rule ids; they are qualified by the policy here.
findings contains object.union(finding, {"rule": sprintf("%s/%s", [module.policy, finding.rule])}) if {
	some module in custom
	some finding in data.datawave.custom[module.package].deny
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
