#!/usr/bin/env bats
# Crash recovery in the deployment of examples/: dq-apply is killed at
# each of its write points, then the cron line runs again (a fresh fetch,
# --once), and ConnectWise must hold exactly one owner, one schedule entry
# and one dq note per ticket; killed while moving a re-dispatched
# ticket's calendar entry, one entry, the new owner's. The kill is
# deterministic: the emulator acts on the chosen request and holds its
# answer (a stall fault), and the test kills dq-apply while it waits for
# it.

bats_require_minimum_version 1.5.0

NOW=2026-03-10T15:00:00Z
# The eight New tickets of the fixture that the run assigns and books.
TICKETS="5001 5002 5003 5004 5005 5006 5007 5008"

setup_file() {
	export BATS_NO_PARALLELIZE_WITHIN_FILE=true
	load cw-emulator
	cw_start --now "$NOW"
}

teardown_file() {
	load cw-emulator
	cw_stop
}

setup() {
	load helper
	load cw-emulator
	cw_reset
	export DQ_CW_BACKOFF_MS=1 DQ_NOW=$NOW
	journal=$BATS_TEST_TMPDIR/journal
	# The policy of a desk running the cron line: it names the journal.
	# One ticket at a time, so a kill interrupts exactly one.
	export DQ_POLICY=$BATS_TEST_TMPDIR/policy
	printf '%s\n' "journal = $journal" "trigger-status = New" \
		"parallel = 1" >"$DQ_POLICY"
	# The command of examples/cron, with its lock in the test's directory.
	cron=$(grep -v '^#' "$EXAMPLES/cron" | grep 'dq-apply' |
		sed 's/^\([^ ]* \)\{5\}dq //' |
		sed "s|/var/lib/dq/dispatch.lock|$BATS_TEST_TMPDIR/lock|")
	[[ $cron == "flock -n -E 0 $BATS_TEST_TMPDIR/lock bash -c "* ]]
}

# Per ticket: "TICKET OWNER ENTRIES ENTRY-MEMBERS NOTES", from the
# emulator's data.
state() {
	local t
	for t in $TICKETS; do
		echo "$t $(cw_control GET "data?path=service/tickets" |
			jq -r --argjson t "$t" '.[] | select(.id == $t) | .owner.identifier // "none"') $(cw_control GET "data?path=schedule/entries" |
			jq -r --argjson t "$t" '[.[] | select(.objectId == $t)] | "\(length) \([.[].member.identifier] | unique | join(",") | if . == "" then "-" else . end)"') $(cw_control GET "data?path=service/tickets/$t/notes" |
			jq 'if type == "array" then [.[] | select(.text | startswith("dq "))] | length else 0 end')"
	done
}

# Every ticket: an owner, one entry, for that owner, and one note.
assert_written_once() {
	run state
	assert_success
	local line t owner entries members notes
	for line in "${lines[@]}"; do
		read -r t owner entries members notes <<<"$line"
		[[ $owner != none && $entries == 1 && $members == "$owner" && $notes == 1 ]] || {
			echo "ticket $t: owner $owner, $entries entries ($members), $notes notes"
			echo "$output"
			return 1
		}
	done
	assert_equal "${#lines[@]}" 8
}

# Runs the cron line with a stall fault on SPEC, waits until the emulator
# has acted on that request, kills dq-apply (its pid is in its journal
# lines) and lets the rest of the pipeline end.
kill_at() {
	cw_fault "$1" >/dev/null
	bash -c "$cron" 3>&- &
	local line=$! i pid
	for ((i = 0; i < 400; i++)); do
		[[ $(cw_control GET requests | jq '[.requests[] | select(.fault.kind == "stall")] | length') == 1 ]] && break
		sleep 0.05
	done
	pid=$(jq -r 'select(.phase == "intent") | .pid' "$journal" | tail -n1)
	[[ -n $pid ]]
	kill -KILL "$pid"
	cw_control DELETE fault >/dev/null
	wait "$line" || true
	# The killed run left one intent without an outcome (its other
	# outcomes may be skips, which have no intent).
	run jq -s --argjson pid "$pid" '[.[] | select(.pid == $pid)] |
		[.[] | select(.phase == "intent") | .record.id] -
		[.[] | select(.phase == "outcome") | .record.id] | length' "$journal"
	assert_output 1
}

@test "killed after its intent: the next cron run finishes the ticket" {
	kill_at 'stall@GET:^service/tickets/\d+$:1'
	run --separate-stderr bash -c "$cron"
	assert_success
	assert_written_once
}

@test "killed after the PATCH: the next cron run books the entry and the note" {
	kill_at 'stall@PATCH:^service/tickets/\d+$:1'
	run bash -c "$cron"
	assert_success
	assert_written_once
}

@test "killed after the entry's POST: the next cron run adds only the note" {
	kill_at 'stall@POST:^schedule/entries$:1'
	run bash -c "$cron"
	assert_success
	assert_written_once
}

@test "killed after the note: the next cron run writes nothing again" {
	kill_at 'stall@POST:notes$:1'
	cw_control POST reset-log >/dev/null
	run bash -c "$cron"
	assert_success
	assert_written_once
	# The dead run's ticket was only looked at.
	assert_equal "$(cw_requests | jq -r 'select(.method != "GET") | .path' | grep -c '/notes$')" 7
}

@test "an empty stream is enough: a dead run's ticket is finished first, and said" {
	kill_at 'stall@PATCH:^service/tickets/\d+$:1'
	ticket=$(jq -r 'select(.phase == "intent") | .record.id' "$journal" | tail -n1)
	run --separate-stderr dq-apply --commit --note </dev/null
	assert_success
	assert_output ''
	assert_equal "$stderr" "$(printf 'dq-apply: ticket %s: finishing run %s (pid %s), which died: applied' "$ticket" \
		"$(jq -r 'select(.phase == "intent") | .run' "$journal" | tail -n1)" \
		"$(jq -r 'select(.phase == "intent") | .pid' "$journal" | tail -n1)")"
	# Its entry and note are there, once; the outcome ends the intent.
	run state
	assert_line --regexp "^$ticket [a-z]+ 1 [a-z]+ 1$"
	run jq -c 'select(.finishes) | [.phase, .record.id, .record.applied.outcome, (.record.applied.changes | map(.method))]' "$journal"
	assert_output "[\"outcome\",\"$ticket\",\"applied\",[\"POST\",\"POST\"]]"
	# Finished once: the next run has nothing left to finish.
	run --separate-stderr dq-apply --commit --note </dev/null
	assert_success
	assert_equal "$stderr" ""
}

@test "a ticket that cannot be finished now stays for the next run" {
	kill_at 'stall@PATCH:^service/tickets/\d+$:1'
	cw_fault '503@POST:^schedule/entries$' >/dev/null
	run --separate-stderr dq-apply --commit --note </dev/null
	assert_failure 75
	[[ $stderr == *"which died: failed: POST /schedule/entries: 503 "* ]]
	[ "$(jq -c 'select(.finishes)' "$journal")" = "" ]
	cw_control DELETE fault >/dev/null
	run bash -c "$cron"
	assert_success
	assert_written_once
}

@test "re-run on the saved stream: the dead run's ticket is finished, not written again" {
	dq-fetch --connectwise | dq-eligible | dq-pick | dq-schedule >"$BATS_TEST_TMPDIR/decided"
	cw_fault 'stall@GET:^service/tickets/\d+$:1' >/dev/null
	dq-apply --commit --note "$BATS_TEST_TMPDIR/decided" >/dev/null 2>&1 &
	apply=$!
	for ((i = 0; i < 400; i++)); do
		[[ $(cw_control GET requests | jq '[.requests[] | select(.fault.kind == "stall")] | length') == 1 ]] && break
		sleep 0.05
	done
	ticket=$(jq -r 'select(.phase == "intent") | .record.id' "$journal")
	kill -KILL "$apply"
	cw_control DELETE fault >/dev/null
	wait "$apply" || true
	run --separate-stderr dq-apply --commit --note "$BATS_TEST_TMPDIR/decided"
	assert_success
	run field "$ticket" .applied <<<"$output"
	assert_output --partial '"outcome":"conflict","changes":[],"error":"run '
	assert_output --partial 'died with it unfinished, and this run finished it first"'
	assert_written_once
}

# Re-dispatch: at 15:00 the cron line books every ticket; at 16:20 the
# watchdog finds the work booked at 15:10 stalled and gives it to someone
# else, whose entry replaces the first owner's. dq-apply is killed at the
# write points of that move.
LATER=2026-03-10T16:20:00Z

redispatch_policy() {
	printf '%s\n' "stall-minutes = 60" "redispatch-on-stall = yes" >>"$DQ_POLICY"
	run bash -c "$cron"
	assert_success
	assert_written_once
	first=$(state)
	export DQ_NOW=$LATER
}

# Every ticket: an owner, one entry, for that owner; the moved ones a
# different owner from the first and a second note (one per dispatch),
# the rest as they were. At least one moved.
assert_moved_once() {
	run state
	assert_success
	local line t owner entries members notes was moved=0
	for line in "${lines[@]}"; do
		read -r t owner entries members notes <<<"$line"
		was=$(awk -v t="$t" '$1 == t { print $2 }' <<<"$first")
		[[ $owner != none && $entries == 1 && $members == "$owner" ]] &&
			if [[ $owner == "$was" ]]; then
				[[ $notes == 1 ]]
			else
				((++moved)) && [[ $notes == 2 ]]
			fi || {
			echo "ticket $t (was $was's): owner $owner, $entries entries ($members), $notes notes"
			echo "$output"
			return 1
		}
	done
	assert_equal "${#lines[@]}" 8
	((moved > 0))
	# Only entries dq made were deleted.
	assert_equal "$(comm -23 <(cw_requests | jq -r 'select(.method == "DELETE") | .path | sub(".*/"; "")' | sort -u) \
		<(jq -r 'select(.phase == "outcome") | .record.applied.entry // empty' "$journal" | sort -u))" ""
}

# The tickets whose first slot started by $1: stalled an hour later.
booked_by() {
	jq -r --arg t "$1" 'select(.phase == "outcome" and .at == "'"$NOW"'" and .record.slot.start <= $t) | .record.id' "$journal" | sort -n
}

@test "re-dispatch killed after the old entry's DELETE: the next cron run books the new owner once" {
	redispatch_policy
	kill_at 'stall@DELETE:^schedule/entries/\d+$:1'
	ticket=$(jq -r 'select(.phase == "intent") | .record.id' "$journal" | tail -n1)
	# Killed between the DELETE and the POST: the ticket has no entry.
	run state
	assert_line --regexp "^$ticket [a-z]+ 0 - 1$"
	run --separate-stderr bash -c "$cron"
	assert_success
	assert_moved_once
	# A ticket this run had given the dead run's slot was left as it was
	# (its first owner, its entry), said, and is moved by the next run.
	[[ $stderr == *"ticket $ticket: finishing run "*", which died: applied"* ]]
	[[ $stderr == *"is taken by ticket $ticket, which this run finished for run "*"; the next run decides it again"* ]]
	export DQ_NOW=2026-03-10T16:22:00Z
	run --separate-stderr bash -c "$cron"
	assert_success
	assert_moved_once
	run state
	stalled=$(booked_by 2026-03-10T15:22:00Z)
	[[ -n $stalled ]]
	for t in $stalled; do
		refute_line --regexp "^$t $(awk -v t="$t" '$1 == t { print $2 }' <<<"$first") "
	done
}

@test "re-dispatch killed after the new entry's POST: the next cron run adds only the note" {
	redispatch_policy
	kill_at 'stall@POST:^schedule/entries$:1'
	ticket=$(jq -r 'select(.phase == "intent") | .record.id' "$journal" | tail -n1)
	cw_control POST reset-log >/dev/null
	run --separate-stderr bash -c "$cron"
	assert_success
	assert_moved_once
	# The dead run's ticket: no entry made again.
	assert_equal "$(cw_requests | jq -r 'select(.method == "POST" and (.path | endswith("schedule/entries"))) | .body.objectId' | grep -cx "$ticket")" 0
}
