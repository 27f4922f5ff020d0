#!/usr/bin/env bats
# The example snapshot, policy and dry run that the README shows.

setup() {
	load helper
	snapshot="$EXAMPLES/msp-snapshot.ndjson"
	policy="$EXAMPLES/policy"
}

@test "the dry run prints a table of every ticket" {
	run --separate-stderr "$EXAMPLES/dry-run"
	assert_success
	# Pod B's hours for Ravi Patel differ from his own on purpose (CAST.md).
	assert_equal "$stderr" "dq-eligible: $EXAMPLES/pods.csv:7: hours of \"Ravi Patel\" differ from the member record's; the pod's apply"
	assert_line -n 0 --regexp '^TICKET +SUMMARY +DECISION +OWNER/TEAM +SLOT +APPLIED +REASON$'
	assert_line --regexp '^48120 .* skipped +- +- +dry-run +already-owned$'
	# The reason is never cut.
	assert_line --regexp '^48123 .* skipped +- +- +dry-run +company-excluded:Internal IT$'
	assert_line --regexp '^48113 .* assigned +adoe +11-23 [0-9:]{5} +dry-run +rule:vip-acme:assign$'
	assert_line "45 tickets: 25 assigned, 4 team, 2 held, 1 unassigned, 13 skipped."
	assert_line "Dry run: nothing was written; add --commit to write these changes."
}

@test "the cron line and the systemd units lock, and fail when any stage fails" {
	# The command of the cron line: after five time fields and the user.
	cmd=$(grep -v '^#' "$EXAMPLES/cron" | grep 'dq-apply' | sed 's/^\([^ ]* \)\{5\}dq //')
	[[ $cmd == *"flock -n "* ]]
	[[ $cmd == *"set -o pipefail;"* ]]
	[[ $cmd == *"dq-apply --commit"* ]]
	[[ $cmd == "flock -n -E 0 /var/lib/dq/dispatch.lock bash -c "* ]]
	run bash -n -c "$cmd"
	assert_success
	# The programs are found where make install and the package put them.
	grep -qx 'PATH=/usr/local/bin:/usr/bin:/bin' "$EXAMPLES/cron"
	# A run skipped for a held lock succeeds, and runs nothing.
	local lock=$BATS_TEST_TMPDIR/lock
	run flock "$lock" bash -c "${cmd//\/var\/lib\/dq\/dispatch.lock/$lock}"
	assert_success
	assert_output ''
	run grep -c '^ExecStart=/usr/bin/flock -n -E 0 .*set -o pipefail; dq-fetch' "$EXAMPLES/dq-dispatch.service"
	assert_output 1
	run grep -E '^(Type=oneshot|OnUnitActiveSec=2min)$' "$EXAMPLES/dq-dispatch.service" "$EXAMPLES/dq-dispatch.timer"
	assert_equal "${#lines[@]}" 2
	# The pipeline itself runs: committed to no target, on the example.
	run bash -c "set -o pipefail; dq-eligible -q -p '$policy' --once --journal '$BATS_TEST_TMPDIR/j' '$snapshot' | dq-pick -q -p '$policy' --journal '$BATS_TEST_TMPDIR/j' | dq-schedule -p '$policy' | dq-apply -p '$policy' --commit --target none --journal '$BATS_TEST_TMPDIR/j' >/dev/null"
	assert_success
	assert_equal "$(wc -l <"$BATS_TEST_TMPDIR/j")" 45
}

@test "the internal note reads as a dispatcher writes it: who, why, when in their zone, who was next" {
	run bash -c "dq-eligible -p '$policy' '$snapshot' 2>/dev/null | dq-pick -p '$policy' |
		dq-schedule -p '$policy' | dq-apply --note --format ndjson |
		jq -r 'select(.kind == \"ticket\") | .id as \$id | .applied.changes[]? |
			select(.path | endswith(\"/notes\")) | \"\(\$id) \(.body.text)\"' |
		sed 's/ Run example-2026-11-23T15:00Z, configuration sha256:[0-9a-f]*\.\$//'"
	assert_success
	# A rule that names the owner ranked nobody: no runners-up.
	assert_line "48113 dq assigned this ticket to Andrew Doe of team Service Desk. Why: rule vip-acme: assign. Booked Mon 23 Nov 10:40 to 11:10, America/New_York time."
	assert_line "48101 dq gave this ticket to team After Hours, with no owner. Why: rule nights: team."
	assert_line "48119 dq assigned this ticket to Dana Kowalski of team Service Desk. Why: least active: 2 open tickets. Booked Mon 23 Nov 09:40 to 10:10, America/Chicago time. Next in line: Ravi Patel (4 open tickets), Jamie Chen (5 open tickets), Manny Doe (7 open tickets) and 1 more."
	assert_line "48121 dq assigned this ticket to Chris Ross of team Projects. Why: rule no-juniors: exclude, then least active: 5 open tickets. Booked Mon 23 Nov 07:10 to 07:40, America/Los_Angeles time. Nobody else was eligible."
	assert_line "48122 dq assigned this ticket to Lena Okafor of team Network Engineering. Why: rule network: prefer, then least active: 2 open tickets. Booked Tue 24 Nov 08:00 to 08:30, Europe/London time. Next in line: Marco Garcia (5 open tickets), Chris Ross (6 open tickets), Aisha Gupta (8 open tickets) and 1 more."
}

@test "every stage accepts the example policy" {
	for p in dq-eligible dq-pick dq-schedule dq-apply; do
		run "$p" --policy "$policy" < /dev/null
		assert_success
	done
}

@test "the example policy decides every triggered ticket by least-active" {
	run bash -c "dq-eligible -p '$policy' '$snapshot' | dq-pick -p '$policy' | tickets | jq -r '.dispatch.mode // .dispatch.reason' | sort | uniq -c | sed 's/^ *\([0-9]*\) \(.*\)/\2 \1/'"
	assert_success
	assert_line "LEAST_ACTIVE 32"
	assert_line "status 9"
	assert_line "already-owned 1"
	assert_line "company-excluded:Internal IT 3"
}

@test "a rule never strands a pod's ticket: 48121 falls back on the board's pool" {
	run bash -c "dq-eligible -q -p '$policy' '$snapshot' | dq-pick -p '$policy' | field 48121 '[.eligible.pool, .dispatch.outcome, .dispatch.chosen, .dispatch.pool, .dispatch.reason, (.dispatch.excluded | map(.ids[]))]'"
	assert_output '["pod:Pod A","assigned","cross","pod-fallback","rule:no-juniors:exclude,least-active:5",["dkowalski","jchen"]]'
}

@test "Network Ops has no default team: default-team leaves its unteamed tickets unassigned" {
	# (unless the nights rule gives them to the After Hours team)
	run bash -c "dq-eligible -q -p '$policy' '$snapshot' | dq-pick -p '$policy' --mode default-team | tickets | jq -r 'select(.board == \"Network Ops\" and .team == null and .dispatch.mode and (.dispatch.reason | test(\"^rule:[^:]*:team$\") | not)) | .dispatch.outcome' | sort -u"
	assert_output unassigned
	# 48137 came with team 34 from triage and keeps it
	run bash -c "dq-eligible -q -p '$policy' '$snapshot' | dq-pick -p '$policy' --mode default-team | field 48137 '.dispatch | [.outcome, .team, .reason]'"
	assert_output '["team","34","rule:network:prefer,default-team:kept"]'
}

@test "every mode runs on the example, the same bytes twice" {
	for mode in manual default-team round-robin priority-match capability-match least-active earliest-slot; do
		a=$(dq-eligible -p "$policy" "$snapshot" | dq-pick -p "$policy" -m "$mode" | dq-schedule -p "$policy" | sha256sum)
		b=$(dq-eligible -p "$policy" "$snapshot" | dq-pick -p "$policy" -m "$mode" | dq-schedule -p "$policy" | sha256sum)
		assert_equal "$a" "$b"
	done
}

@test "no member gets two overlapping slots in the example" {
	run bash -c "dq-eligible -q -p '$policy' '$snapshot' | dq-pick -p '$policy' -m earliest-slot | dq-schedule -p '$policy' | tickets | jq -s -r '[.[] | select(.slot.start)] | group_by(.slot.member)[] | sort_by(.slot.start) | . as \$s | range(1; length) | select(\$s[.].slot.start < \$s[. - 1].slot.end) | \$s[.].id'"
	assert_success
	assert_output ''
}

@test "the agent workspace example: events, then the decisions, as a dry run" {
	cp -r "$EXAMPLES" "$BATS_TEST_TMPDIR/examples"
	run --separate-stderr "$BATS_TEST_TMPDIR/examples/agents-dispatch"
	assert_success
	assert_equal "$stderr" ""
	assert_line -n 0 EVENTS
	assert_line 'AGENT_IDLE ticket - member juno: idle, 90 min'
	assert_line 'ISSUE_STALLED ticket 490 member victor: no-progress, 60 min, cleared'
	assert_line 'ISSUE_NOACK ticket 492 member ash: no-ack, 10 min, cleared'
	assert_line --regexp '^490 .* assigned +rin +- +dry-run, webhook to send +capability-match:2/3$'
	# juno is idle, so the docs ticket falls back to round robin.
	assert_line --regexp '^504 .* assigned +ash +- +dry-run, webhook to send +round-robin$'
	# A dry run: the journal is as it was.
	run cmp "$BATS_TEST_TMPDIR/examples/agents-journal.ndjson" "$EXAMPLES/agents-journal.ndjson"
	assert_success
}

@test "the README's dry run by hand works verbatim, in order, after ./setup" {
	# The source tree as ./setup leaves it: examples/ and build/src.
	local top="$BATS_TEST_TMPDIR/top" script="$BATS_TEST_TMPDIR/readme.sh"
	mkdir -p "$top/build"
	ln -s "$(cd "$EXAMPLES" && pwd)" "$top/examples"
	ln -s "$(dirname "$(command -v dq-eligible)")" "$top/build/src"
	# Its indented blocks, from its heading to the next one.
	sed -n '/^## A dry run by hand/,/^## /{/^    /s/^    //p;}' \
	    "$DQ_SRCDIR/README.md" >"$script"
	grep -q '^dq-eligible examples/msp-snapshot.ndjson' "$script"
	# Only the system's programs on PATH, as in a new login shell.
	run --separate-stderr env -i HOME="$HOME" PATH=/usr/bin:/bin \
	    bash -c "cd '$top' && set -e -o pipefail && . '$script'"
	assert_success
	assert_line --regexp '^\["48113","adoe","rule:vip-acme:assign","2026-11-23T[0-9:]{8}Z"\]$'
	assert_line --partial '"op": '
}

@test "the systemd units verify, and the service's sandbox rates under 4" {
	command -v systemd-analyze >/dev/null || skip "systemd-analyze is not installed"
	cp "$EXAMPLES/dq-dispatch.service" "$EXAMPLES/dq-dispatch.timer" "$BATS_TEST_TMPDIR"
	run systemd-analyze verify --man=no "$BATS_TEST_TMPDIR/dq-dispatch.service" \
	    "$BATS_TEST_TMPDIR/dq-dispatch.timer"
	assert_success
	assert_output ''
	run systemd-analyze security --offline=true "$BATS_TEST_TMPDIR/dq-dispatch.service"
	assert_success
	local level
	level=$(sed -n 's/.*Overall exposure level for dq-dispatch.service: \([0-9.]*\).*/\1/p' <<<"$output")
	[[ -n $level ]]
	awk -v l="$level" 'BEGIN { exit !(l < 4) }' || fail "exposure $level, not under 4"
	grep -qx 'DynamicUser=yes' "$BATS_TEST_DIRNAME/../examples/dq-dispatch.service"
	grep -qx 'StateDirectory=dq' "$BATS_TEST_DIRNAME/../examples/dq-dispatch.service"
}
