#!/usr/bin/env bats
# dq-explain: one ticket's decision in words, from the example's dry run
# and from the journal of a committed run.

# The output as one line, wrapping undone, for sentences that may wrap.
flat() {
	tr '\n' ' ' <<<"$output" | tr -s ' '
}

setup() {
	load helper
	export DQ_POLICY="$EXAMPLES/policy"
	run_out="$BATS_TEST_TMPDIR/run.ndjson"
	dq-eligible -q "$EXAMPLES/msp-snapshot.ndjson" | dq-pick |
		dq-schedule | dq-apply > "$run_out"
}

@test "an assigned ticket: decision, reason in words, pool, exclusions, ranking, slot, changes" {
	run --separate-stderr dq-explain 48096 "$run_out"
	assert_success
	assert_equal "$stderr" ""
	assert_line -n 0 "Ticket 48096: Install Adobe Acrobat Pro for marketing"
	assert_line "Decision: assigned, to Ravi Patel (rpatel) in team 25."
	assert_line "  Mode: LEAST_ACTIVE."
	assert_line "  Why: rule globex: prefer, then least active: 2 open tickets."
	assert_line "Pool: default-team, team 25; 5 eligible."
	assert_line "  Kayla Williams (kwilliams): offline."
	assert_line "  Andrew Doe (adoe): rule globex: prefer."
	assert_line --partial "  1. Ravi Patel (rpatel): score 2, active 2, history 2.375 (from closed"
	assert_line "Slot: Ravi Patel (rpatel), 2026-11-23T15:10:00Z to 2026-11-23T15:40:00Z"
	assert_line "Applied: dry-run to connectwise."
	assert_line "    PATCH /service/tickets/48096"
	assert_line "    POST /schedule/entries"
	# Wrapped, and the same every time.
	run awk 'length > 72' <<<"$output"
	assert_output ""
	assert_equal "$(dq-explain 48096 "$run_out")" "$(dq-explain 48096 < "$run_out")"
}

@test "a skipped ticket says why in words" {
	run dq-explain 48120 "$run_out"
	assert_success
	assert_line "Skipped: it already has an owner."
	assert_line "  No change would be written."
	run dq-explain 48123 "$run_out"
	assert_line "Skipped: company Internal IT is excluded."
}

@test "a held ticket: the rule and its note" {
	run dq-explain 48110 "$run_out"
	assert_success
	assert_line "Decision: held."
	assert_line "  Why: rule legal: hold."
	assert_line "  Note: legal review"
}

@test "--member says what happened to that member" {
	run dq-explain --member adoe 48096 "$run_out"
	assert_success
	assert_equal "${lines[-2]}" "Andrew Doe (adoe): eligible, but dq-pick excluded them: rule globex:"
	assert_equal "${lines[-1]}" "  prefer."
	run dq-explain --member kwilliams 48096 "$run_out"
	[[ $(flat) == *"Kayla Williams (kwilliams): in the pool, but dq-eligible excluded them: offline. " ]]
	run dq-explain --member rpatel 48096 "$run_out"
	assert_equal "${lines[-1]}" "Ravi Patel (rpatel): chosen."
	run dq-explain --member agupta 48096 "$run_out"
	assert_equal "${lines[-1]}" "Aisha Gupta (agupta): not in the pool of this ticket."
	run dq-explain --member adoe 48120 "$run_out"
	assert_equal "${lines[-1]}" "Andrew Doe (adoe): nobody was considered; the ticket was skipped."
}

@test "--member ranked behind the one chosen" {
	run dq-explain --member mdoe 48117 "$run_out"
	assert_success
	assert_line --partial "  1. Jamie Chen (jchen): score 4, active 4, history 5.402"
	assert_equal "${lines[-1]}" "Manny Doe (mdoe): ranked 2 of 3, behind Jamie Chen (jchen)."
}

@test "an unknown ticket is exit 1 with a message" {
	run --separate-stderr dq-explain 99999 "$run_out"
	assert_failure 1
	assert_output ""
	assert_equal "$stderr" "dq-explain: no record of ticket 99999"
}

@test "bad input is exit 65 naming the line; no ticket is a usage error" {
	run --separate-stderr dq-explain 1 <<<'{"kind":"ticket","id":"1"}
{"kind": "ticket", "id":'
	assert_failure 65
	assert_output ""
	[[ $stderr == "dq-explain: line 2: "* ]]
	run --separate-stderr dq-explain < /dev/null
	assert_failure 64
	run --separate-stderr dq-explain 1 "$BATS_TEST_TMPDIR/missing"
	assert_failure 66
}

@test "--journal tells what the last committed run wrote" {
	local j="$BATS_TEST_TMPDIR/dq.journal"
	dq-eligible -q "$EXAMPLES/msp-snapshot.ndjson" | dq-pick |
		dq-schedule | dq-apply --commit --target none --journal "$j" >/dev/null
	run --separate-stderr dq-explain --journal "$j" 48096 < /dev/null
	assert_success
	# Told from the journal's record alone.
	assert_line "Decision: assigned, to rpatel in team 25."
	assert_line "The journal:"
	[[ $(flat) == *"Applied: applied to none. No change was written."* ]]
	[[ $(flat) == *"The journal: Last outcome: run example-2026-11-23T15:00Z at 2026-11-23T15:00:00Z: assigned to rpatel (rule globex: prefer, then least active: 2 open tickets); dq-apply: applied. "* ]]
	run dq-explain --journal "$j" 48096 "$run_out"
	assert_line "Applied: dry-run to connectwise."
	[[ $(flat) == *"assigned to Ravi Patel (rpatel) (rule globex"* ]]
	run dq-explain --journal "$BATS_TEST_TMPDIR/empty" 48096 "$run_out"
	assert_success
	assert_line "The journal has no committed line for ticket 48096."
}
