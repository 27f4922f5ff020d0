#!/usr/bin/env bats
# The dispatch loop, cycle after cycle: the README's cron pipeline against
# the ConnectWise emulator (tests/fixtures/cw-data.json, a Tuesday around
# 2026-03-10T15:00Z), and examples/agents-dispatch's loop against the
# webhook receiver, each run three or more times with --now advancing.
# After each cycle the tests look at what ConnectWise holds, what the
# journal says, and what dq-watch reports.
#
# At 15:00 the six New, unowned Help Desk tickets (5001-5006) go to adoe,
# mdoe and swright, least active first, with slots at 15:10 (5001, 5005,
# 5006) and 15:50 (5002, 5003, 5004).

bats_require_minimum_version 1.5.0

setup_file() {
	load cw-emulator
	cw_start
}

teardown_file() {
	load cw-emulator
	cw_stop
}

setup() {
	load helper
	load cw-emulator
	cw_reset
	journal=$BATS_TEST_TMPDIR/journal
	policy=$BATS_TEST_TMPDIR/policy
	cat >"$policy" <<-EOF
		board = Help Desk
		trigger-status = New
		working-now = yes
		mode = least-active
		history-days = 0
		journal = $journal
		stall-minutes = 60
	EOF
	export DQ_POLICY=$policy DQ_BACKOFF_MS=1 DQ_CW_BACKOFF_MS=1
}

# One cycle of examples/cron's pipeline at $1, its output kept in
# $BATS_TEST_TMPDIR/out (the stream) and what reached dq-apply in .../in.
cycle() {
	DQ_NOW=$1 bash -c "set -o pipefail; dq-fetch --connectwise | dq-watch |
	    dq-eligible --once | dq-pick | dq-schedule |
	    tee '$BATS_TEST_TMPDIR/in' |
	    dq-apply --commit --note --status-after Assigned ${2:-}" \
	    >"$BATS_TEST_TMPDIR/out"
}

lines() {
	wc -l <"$journal" | tr -d ' '
}

# The open tickets 5001-5006 as ConnectWise has them: "id owner status
# entries" lines, entries being the members of its schedule entries.
held() {
	local entries
	entries=$(cw_curl "$CW_URL/schedule/entries?pageSize=1000")
	cw_curl "$CW_URL/service/tickets?pageSize=1000&conditions=id%3E5000%20and%20id%3C5007" |
	    jq -r --argjson e "$entries" '.[] | . as $t | [(.id | tostring),
	    (.owner.identifier // "-"), .status.name,
	    ([$e[] | select(.objectId == $t.id) | .member.identifier] | join(",") |
	    if . == "" then "-" else . end)] | join(" ")'
}

# The tickets dq-watch sees stalled now, whether or not it reported them
# before: the journal without its event lines (so every stall is told).
stalled() {
	grep -v '"phase":"event"' "$journal" >"$BATS_TEST_TMPDIR/noevents" || true
	DQ_NOW=$1 bash -c "dq-fetch --connectwise |
	    dq-watch --journal '$BATS_TEST_TMPDIR/noevents' --no-redispatch-on-stall" |
	    jq -r 'select(.kind == "event" and .type == "ISSUE_STALLED") | .ticket' |
	    sort | tr '\n' ' '
}

@test "cron cycles: assignments are kept, the journal grows with changes only, every stall is seen on every cycle" {
	cycle 2026-03-10T15:00:00Z
	run held
	assert_output '5001 adoe Assigned adoe
5002 mdoe Assigned mdoe
5003 swright Assigned swright
5004 adoe Assigned adoe
5005 swright Assigned swright
5006 mdoe Assigned mdoe'
	assert_equal "$(lines)" 12	# an intent and an outcome each
	# 15:30: they are owned now; each skip is journaled once.
	cycle 2026-03-10T15:30:00Z
	assert_equal "$(lines)" 18
	assert_equal "$(stalled 2026-03-10T15:30:00Z)" ""
	# 15:32: nothing changed, nothing is journaled.
	cycle 2026-03-10T15:32:00Z
	assert_equal "$(lines)" 18
	# 16:20: the work booked at 15:10 has stalled (70 minutes), the work
	# booked at 15:50 not yet (30), although all was dispatched at 15:00.
	cycle 2026-03-10T16:20:00Z
	run jq -r 'select(.kind == "event") | [.type, .ticket, .member, .since] | join(" ")' "$BATS_TEST_TMPDIR/out"
	assert_output 'ISSUE_STALLED 5006 mdoe 2026-03-10T15:10:00Z
ISSUE_STALLED 5005 swright 2026-03-10T15:10:00Z
ISSUE_STALLED 5001 adoe 2026-03-10T15:10:00Z'
	assert_equal "$(lines)" 21	# the three events
	assert_equal "$(stalled 2026-03-10T16:20:00Z)" "5001 5005 5006 "
	# 16:22: told once, still seen.
	cycle 2026-03-10T16:22:00Z
	run jq -r 'select(.kind == "event")' "$BATS_TEST_TMPDIR/out"
	assert_output ''
	assert_equal "$(lines)" 21
	assert_equal "$(stalled 2026-03-10T16:22:00Z)" "5001 5005 5006 "
	# 17:00: the rest too.
	cycle 2026-03-10T17:00:00Z
	assert_equal "$(lines)" 24
	assert_equal "$(stalled 2026-03-10T17:00:00Z)" "5001 5002 5003 5004 5005 5006 "
	# The status dq left is in the journal, by name.
	run jq -r 'select(.phase == "outcome" and .record.id == "5001" and .record.dispatch.outcome == "assigned") | .record.applied.status' "$journal"
	assert_output Assigned
}

@test "cron cycles with redispatch-on-stall: one owner, one calendar entry, old entries deleted once" {
	echo 'redispatch-on-stall = yes' >>"$policy"
	cycle 2026-03-10T15:00:00Z
	cycle 2026-03-10T15:30:00Z
	before=$(lines)
	cycle 2026-03-10T16:20:00Z
	# 5001, 5005 and 5006 went to someone else, with their entries.
	run held
	assert_output '5001 swright Assigned swright
5002 mdoe Assigned mdoe
5003 swright Assigned swright
5004 adoe Assigned adoe
5005 mdoe Assigned mdoe
5006 swright Assigned swright'
	# Only the entries dq made were deleted; the fixture's are all there.
	run bash -c "jq -r 'select(.method == \"DELETE\") | .path' '$CW_LOG' | sed 's|.*/||' | sort -n | tr '\n' ' '"
	assert_output "$(jq -r 'select(.phase == "outcome" and .record.dispatch.outcome == "assigned" and .at == "2026-03-10T15:00:00Z" and (.record.id == "5001" or .record.id == "5005" or .record.id == "5006")) | .record.applied.entry' "$journal" | sort -n | tr '\n' ' ')"
	run jq -r '[.[] | select(.id < 9009) | .id] | length' <<<"$(cw_curl "$CW_URL/schedule/entries?pageSize=1000")"
	assert_output 8
	assert_equal "$(lines)" $((before + 9))	# 3 events, 3 intents, 3 outcomes
	# The same decisions applied again (a re-run after a crash) find the
	# work done: the old entries are gone already, the new ones there.
	run dq-apply --commit --journal "$journal" --status-after Assigned <"$BATS_TEST_TMPDIR/in"
	assert_success
	run bash -c "jq -r 'select(.watch) | .applied.outcome' <<<'$output' | sort -u"
	assert_output unchanged
	run held
	assert_line '5001 swright Assigned swright'
	# 16:22 and 16:24: the new owners hold them; the journal takes in the
	# three new skips once.
	cycle 2026-03-10T16:22:00Z
	n=$(lines)
	cycle 2026-03-10T16:24:00Z
	assert_equal "$(lines)" "$n"
	run jq -r 'select(.kind == "event")' "$BATS_TEST_TMPDIR/out"
	assert_output ''
}

@test "a ticket that arrives before the shift is dispatched once the shift starts (--once retries the unassigned)" {
	cycle 2026-03-10T11:00:00Z
	run jq -r 'select(.kind == "ticket") | .dispatch.outcome' "$BATS_TEST_TMPDIR/out"
	assert_output "$(printf 'unassigned\n%.0s' 1 2 3 4 5 6)"
	assert_equal "$(lines)" 6
	# Nobody comes in before 08:00 New York time: nothing new is journaled.
	cycle 2026-03-10T11:30:00Z
	assert_equal "$(lines)" 6
	cycle 2026-03-10T12:02:00Z
	run bash -c "jq -r 'select(.kind == \"ticket\") | .dispatch.outcome' '$BATS_TEST_TMPDIR/out' | sort -u"
	assert_output assigned
	assert_equal "$(held | cut -d' ' -f2 | sort -u | tr '\n' ' ')" 'adoe mdoe swright '
	# --no-retry settles them at the first try, as ConnectWise's agent does.
	cw_reset
	rm -f "$journal"
	echo 'retry = no' >>"$policy"
	cycle 2026-03-10T11:00:00Z
	cycle 2026-03-10T12:02:00Z
	run bash -c "jq -r 'select(.kind == \"ticket\") | .dispatch.reason' '$BATS_TEST_TMPDIR/out' | sort -u"
	assert_output already-dispatched
}

@test "--status-after is for owners, --team-status-after for team-only decisions" {
	sed -i 's/^mode = .*/mode = default-team/' "$policy"
	cycle 2026-03-10T15:00:00Z
	run held
	assert_line '5001 - New -'
	run bash -c "jq -r 'select(.kind == \"ticket\") | .applied.changes[] | select(.method == \"PATCH\") | .body | map(.path) | join(\",\")' '$BATS_TEST_TMPDIR/out' | sort -u"
	assert_output team
	cw_reset
	rm -f "$journal"
	cycle 2026-03-10T15:00:00Z "--team-status-after 'Waiting on Customer'"
	run held
	assert_line '5001 - Waiting on Customer -'
	run jq -r 'select(.phase == "outcome" and .record.id == "5001") | .record.applied.status' "$journal"
	assert_output 'Waiting on Customer'
	# Later cycles skip them (no longer New), each once in the journal.
	cycle 2026-03-10T15:02:00Z "--team-status-after 'Waiting on Customer'"
	assert_equal "$(lines)" 18
	cycle 2026-03-10T15:04:00Z "--team-status-after 'Waiting on Customer'"
	assert_equal "$(lines)" 18
}

@test "dq-rules(5) says mode earliest-slot works in a rule" {
	run grep -c 'refuses a rules file' "$BATS_TEST_DIRNAME/../man/dq-rules.5"
	assert_output 0
}

# The agent workspace: examples/agents-dispatch with --commit, its agents'
# webhooks at the receiver.
agents_setup() {
	load webhook-receiver
	wh_start
	jq -c --arg url "$WH_URL" \
	    'if .kind == "member" then .webhook = $url + "/hooks/" + .id else . end' \
	    "$EXAMPLES/agents-snapshot.ndjson" >"$BATS_TEST_TMPDIR/agents.ndjson"
	cp "$EXAMPLES/agents-journal.ndjson" "$journal"
	sed "s|^journal = .*|journal = $journal|" "$EXAMPLES/agents-policy" >"$policy"
}

agents_cycle() {
	DQ_NOW=$1 bash -c "set -o pipefail; dq-fetch --from '$BATS_TEST_TMPDIR/agents.ndjson' |
	    dq-watch | dq-eligible --once | dq-pick | dq-apply --commit ${2:-}" \
	    >"$BATS_TEST_TMPDIR/out"
}

@test "agent cycles: assignments outlive uneventful cycles; --ack works; the journal grows with changes only" {
	agents_setup
	agents_cycle 2026-11-23T15:00:00Z
	run jq -r 'select(.kind == "ticket" and .dispatch.outcome == "assigned") | .id' "$BATS_TEST_TMPDIR/out"
	assert_equal "${#lines[@]}" 9
	n=$(lines)
	agents_cycle 2026-11-23T15:02:00Z
	assert_equal "$(lines)" $((n + 9))
	agents_cycle 2026-11-23T15:03:00Z
	assert_equal "$(lines)" $((n + 9))
	# Each agent acknowledges; dq-watch then sees no missing ack.
	run dq-apply --ack --commit --journal "$journal" 490 492 501 502 503 504 505 507 508
	assert_success
	agents_cycle 2026-11-23T15:10:00Z
	run jq -r 'select(.kind == "event") | .type' "$BATS_TEST_TMPDIR/out"
	assert_output ''
	# 15:46: 45 minutes without progress, on every ticket given at 15:00.
	agents_cycle 2026-11-23T15:46:00Z "--target webhook"
	run bash -c "jq -r 'select(.kind == \"event\" and .type == \"ISSUE_STALLED\" and .member) | .ticket' '$BATS_TEST_TMPDIR/out' | sort -n | tr '\n' ' '"
	assert_output '490 492 501 502 503 504 505 507 508 '
	wh_stop
}

@test "a rejected agent is not offered the ticket again; approval keeps the push timing; --pending lists what waits" {
	agents_setup
	printf 'require-approval = yes\nauto-start = no\n' >>"$policy"
	agents_cycle 2026-11-23T15:00:00Z
	run dq-apply --pending --journal "$journal"
	assert_success
	run bash -c "dq-apply --pending --journal '$journal' | jq -r '[.ticket, .member, .webhook] | join(\" \")' | sort -n"
	assert_line '501 victor pending-approval'
	assert_equal "${#lines[@]}" 9
	# Approved without --no-auto-start, 501 still waits for --start.
	run bash -c "DQ_POLICY= dq-apply --approve --commit --journal '$journal' 501 | jq -r .applied.webhook"
	assert_output deferred
	assert [ ! -s "$WH_LOG" ]
	run bash -c "dq-apply --pending --journal '$journal' | jq -r 'select(.ticket == \"501\") | .webhook'"
	assert_output deferred
	run dq-apply --start --commit --journal "$journal" 501
	assert_success
	run bash -c "jq -r .body.ticket '$WH_LOG'"
	assert_output 501
	# victor turns 508 down: the next cycle gives it to someone else.
	run jq -r 'select(.phase == "outcome" and .record.id == "508") | .record.dispatch.chosen' "$journal"
	assert_output victor
	run dq-apply --reject --commit --journal "$journal" 508
	assert_success
	agents_cycle 2026-11-23T15:02:00Z
	run bash -c "jq -c 'select(.id == \"508\") | [.dispatch.outcome, (.dispatch.chosen != \"victor\"), (.eligible.excluded | map(select(.why == \"rejected\")) | .[0].ids)]' '$BATS_TEST_TMPDIR/out'"
	assert_output '["assigned",true,["victor"]]'
	wh_stop
}
