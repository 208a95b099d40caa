# An operation check: a steward's decision on a label of the given categories says why
# (decideLabel with a note of at least min_note characters).
# params: categories; min_note.
package datawave.templates.label_decision_note

import data.datawave.lib

refuse contains {"rule": rule.id, "message": message} if {
	some rule in lib.rules_of("label_decision_note", 1)
	lib.in_scope(rule, input.operation.asset)
	input.operation.action == "decideLabel"
	args := input.operation.args
	split(args.label, ".")[0] in rule.params.categories
	count(trim_space(note(args))) < rule.params.min_note
	message := sprintf("a decision on %s needs a note of at least %d characters", [args.label, rule.params.min_note])
}

default note(_) := ""

note(args) := args.note if is_string(args.note)
