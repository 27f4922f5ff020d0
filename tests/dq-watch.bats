#!/usr/bin/env bats
# dq-watch: the watchdogs, driven by --now over the agent workspace of
# examples/agents-snapshot.ndjson and the journal of its earlier runs.
#
# At 15:00 the journal shows 490 given to victor at 14:00 and acknowledged,
# with no progress since; 491 given to rin at 14:30, acknowledged and in
# progress; 492 given to ash at 14:50 and not acknowledged. 508 has been
# queued since 09:00. juno was last seen at 13:30.

setup() {
	load helper
	snapshot="$EXAMPLES/agents-snapshot.ndjson"
	journal="$BATS_TEST_TMPDIR/journal"
	cp "$EXAMPLES/agents-journal.ndjson" "$journal"
}

watch() {
	dq-watch --journal "$journal" "$@" < "$snapshot"
}

# The events of a stream: type ticket member reason minutes [clear].
events() {
	jq -r 'select(.kind == "event") | [.type, (.ticket // "-"),
	    (.member // "-"), .reason, .minutes, (.clear // empty)] | join(" ")'
}
export -f events

# A journal line as dq-apply writes it, for record $2 (JSON) in phase $1.
journal_line() {
	jq -cn --arg phase "$1" --argjson record "$2" --arg at "${3:-2026-11-23T14:00:00Z}" \
	    '{kind: "journal", phase: $phase, run: "test", seq: 1, at: $at,
	    wall: $at, commit: true, pid: 1, record: $record}' >> "$journal"
}

@test "with no watchdog on, the stream passes through unchanged" {
	run bash -c "dq-watch --journal '$journal' < '$snapshot' | cmp - '$snapshot'"
	assert_success
}

@test "stale work: assigned, acknowledged, no progress for --stall-minutes" {
	run bash -c "dq-watch --journal '$journal' --stall-minutes 45 < '$snapshot' | events"
	assert_success
	assert_output 'ISSUE_STALLED 490 victor no-progress 60'
	run bash -c "dq-watch --journal '$journal' --stall-minutes 61 < '$snapshot' | events"
	assert_output ''
	run bash -c "dq-watch --journal '$journal' --stall-minutes 45 < '$snapshot' |
	    jq -c 'select(.kind == \"event\")'"
	assert_output '{"kind":"event","type":"ISSUE_STALLED","ticket":"490","member":"victor","at":"2026-11-23T15:00:00Z","reason":"no-progress","since":"2026-11-23T14:00:00Z","minutes":60}'
}

@test "an event comes just before its ticket; the ticket is unchanged without redispatch" {
	run bash -c "dq-watch --journal '$journal' --stall-minutes 45 < '$snapshot' |
	    jq -r '.kind + \" \" + (.id // .ticket // \"\")' | grep -A1 '^event 490'"
	assert_output 'event 490
ticket 490'
	run bash -c "dq-watch --journal '$journal' --stall-minutes 45 < '$snapshot' | field 490 .watch"
	assert_output 'null'
}

@test "progress is a new status, or an update after dq's own writes" {
	# 491 is IN_PROGRESS: no stall however long it has been.
	run bash -c "dq-watch --journal '$journal' --stall-minutes 1 --now 2026-11-24T15:00:00Z < '$snapshot' | events"
	refute_output --partial ' 491 '
	# An update to 490 after dq's assignment is progress too.
	jq -c 'if .id == "490" then .updated_at = "2026-11-23T14:20:00Z" else . end' \
	    "$snapshot" > "$BATS_TEST_TMPDIR/s"
	run bash -c "dq-watch --journal '$journal' --stall-minutes 45 < '$BATS_TEST_TMPDIR/s' | events"
	assert_output ''
}

@test "--redispatch-on-stall clears the assignment for the rest of the pipeline" {
	run bash -c "watch() { dq-watch --journal '$journal' --stall-minutes 45 --redispatch-on-stall < '$snapshot'; }
	    watch | events; watch | field 490 .watch; watch | jq -c 'select(.watch) | .id'"
	assert_output 'ISSUE_STALLED 490 victor no-progress 60 true
{"event":"ISSUE_STALLED","previous_owner":"victor","clear":true}
"490"'
}

@test "no acknowledgement within --ack-seconds" {
	run bash -c "dq-watch --journal '$journal' --ack-seconds 300 < '$snapshot' |
	    jq -c 'select(.kind == \"event\") | [.type, .ticket, .member, .since, .seconds]'"
	assert_output '["ISSUE_NOACK","492","ash","2026-11-23T14:50:00Z",600]'
	run bash -c "dq-watch --journal '$journal' --ack-seconds 601 < '$snapshot' | events"
	assert_output ''
	run bash -c "dq-watch --journal '$journal' --ack-seconds 300 --redispatch-on-noack < '$snapshot' | field 492 .watch"
	assert_output '{"event":"ISSUE_NOACK","previous_owner":"ash","clear":true}'
}

@test "an ack recorded later silences the no-ack watchdog" {
	journal_line ack '{"kind":"ack","ticket":"492","member":"ash"}' 2026-11-23T14:52:00Z
	run bash -c "dq-watch --journal '$journal' --ack-seconds 300 < '$snapshot' | events"
	assert_output ''
}

@test "for ConnectWise, the acknowledged flag of the schedule entry counts" {
	jq -c 'if .id == "492" then .owner = "ash" else . end' "$snapshot" > "$BATS_TEST_TMPDIR/s"
	# 492 as if dq-apply had written it to ConnectWise, with a slot.
	: > "$journal"
	journal_line outcome '{"kind":"ticket","id":"492","status":"New","dispatch":{"outcome":"assigned","chosen":"ash"},"applied":{"target":"connectwise","commit":true,"outcome":"applied","status":"TODO","changes":[{"method":"PATCH","path":"/service/tickets/492","body":[{"op":"replace","path":"status","value":{"id":2}}]}]}}' 2026-11-23T14:50:00Z
	entry='{"kind":"entry","id":"9001","member":"ash","start":"2026-11-23T15:00:00Z","end":"2026-11-23T15:30:00Z","ticket":"492","acknowledged":false}'
	run bash -c "{ echo '$entry'; cat '$BATS_TEST_TMPDIR/s'; } | dq-watch --journal '$journal' --ack-seconds 300 | events"
	assert_output 'ISSUE_NOACK 492 ash no-ack 10'
	run bash -c "{ echo '${entry/false/true}'; cat '$BATS_TEST_TMPDIR/s'; } | dq-watch --journal '$journal' --ack-seconds 300 | events"
	assert_output ''
}

@test "a ticket someone else took over is no longer watched" {
	jq -c 'if .id == "490" then .owner = "rin" else . end' "$snapshot" > "$BATS_TEST_TMPDIR/s"
	run bash -c "dq-watch --journal '$journal' --stall-minutes 45 --queue-stall-minutes 1 < '$BATS_TEST_TMPDIR/s' | events"
	refute_output --partial ' 490 '
}

@test "queued tickets nobody took for --queue-stall-minutes" {
	run bash -c "dq-watch --journal '$journal' --queue-stall-minutes 240 < '$snapshot' | events"
	assert_output 'ISSUE_STALLED 508 - queued 360'
	# 490-492 are dq's, 506 is owned: none of them is queued.
	run bash -c "dq-watch --journal '$journal' --queue-stall-minutes 1 < '$snapshot' | events | cut -d' ' -f2 | tr '\n' ' '"
	assert_output '508 501 502 503 504 505 507 '
	# The trigger filters, when given, say what counts as queued.
	run bash -c "dq-watch --journal '$journal' --queue-stall-minutes 1 --trigger-status IN_PROGRESS < '$snapshot' | events"
	assert_output ''
}

@test "idle agents are marked OFFLINE, and reported" {
	run bash -c "dq-watch --journal '$journal' --idle-minutes 60 < '$snapshot' |
	    jq -r 'select(.kind == \"member\") | .id + \" \" + .status'"
	assert_output 'ash ONLINE
juno OFFLINE
kit ONLINE
mizu ONLINE
rin BUSY
sol OFFLINE
victor ONLINE'
	run bash -c "dq-watch --journal '$journal' --idle-minutes 60 < '$snapshot' |
	    jq -c 'select(.kind == \"event\")'"
	assert_output '{"kind":"event","type":"AGENT_IDLE","ticket":null,"member":"juno","at":"2026-11-23T15:00:00Z","reason":"idle","since":"2026-11-23T13:30:00Z","minutes":90,"last_seen_at":"2026-11-23T13:30:00Z"}'
}

@test "an ack is activity; people without last_seen_at are never idle" {
	journal_line outcome '{"kind":"ticket","id":"504","status":"TODO","dispatch":{"outcome":"assigned","chosen":"juno"},"applied":{"target":"webhook","commit":true,"outcome":"applied","webhook":"sent"}}' 2026-11-23T14:30:00Z
	journal_line ack '{"kind":"ack","ticket":"504","member":"juno"}' 2026-11-23T14:31:00Z
	run bash -c "dq-watch --journal '$journal' --idle-minutes 60 < '$snapshot' | events"
	assert_output ''
	run bash -c "dq-watch --idle-minutes 1 < '$EXAMPLES/msp-snapshot.ndjson' | cmp - '$EXAMPLES/msp-snapshot.ndjson'"
	assert_success
}

@test "an event the journal already holds is not reported again; a clear still is" {
	journal_line event '{"kind":"event","type":"ISSUE_STALLED","ticket":"490","member":"victor","at":"2026-11-23T14:58:00Z","reason":"no-progress"}' 2026-11-23T14:58:00Z
	journal_line event '{"kind":"event","type":"AGENT_IDLE","ticket":null,"member":"juno","at":"2026-11-23T14:58:00Z","reason":"idle","last_seen_at":"2026-11-23T13:30:00Z"}' 2026-11-23T14:58:00Z
	run bash -c "dq-watch --journal '$journal' --stall-minutes 45 --idle-minutes 60 --redispatch-on-stall < '$snapshot' | events"
	assert_output ''
	run bash -c "dq-watch --journal '$journal' --stall-minutes 45 --idle-minutes 60 --redispatch-on-stall < '$snapshot' |
	    jq -r 'select(.watch or .status == \"OFFLINE\") | .id'"
	assert_output 'juno
sol
490'
}

@test "a journaled clear leaves the ticket waiting for a new owner: cleared again each run, told once" {
	journal_line event '{"kind":"event","type":"ISSUE_STALLED","ticket":"490","member":"victor","at":"2026-11-23T14:50:00Z","reason":"no-progress","clear":true}' 2026-11-23T14:50:00Z
	run bash -c "dq-watch --journal '$journal' --stall-minutes 45 --queue-stall-minutes 60 --redispatch-on-stall < '$snapshot' | events"
	assert_output 'ISSUE_STALLED 508 - queued 360'
	run bash -c "dq-watch --journal '$journal' --stall-minutes 45 --queue-stall-minutes 60 --redispatch-on-stall < '$snapshot' | field 490 .watch"
	assert_output '{"event":"ISSUE_STALLED","previous_owner":"victor","clear":true}'
}

@test "held webhooks: the clocks start when the agent is told" {
	: > "$journal"
	rec='{"kind":"ticket","id":"492","status":"TODO","dispatch":{"outcome":"assigned","chosen":"ash"},"applied":{"target":"webhook","commit":true,"outcome":"applied","webhook":"pending-approval"}}'
	journal_line outcome "$rec" 2026-11-23T14:00:00Z
	run bash -c "dq-watch --journal '$journal' --stall-minutes 30 --ack-seconds 60 < '$snapshot' | events"
	assert_output ''
	# Approved at 14:51, after 492's last update at 14:50.
	journal_line approve "${rec/pending-approval/sent}" 2026-11-23T14:51:00Z
	run bash -c "dq-watch --journal '$journal' --stall-minutes 5 --ack-seconds 60 < '$snapshot' | events"
	assert_output 'ISSUE_NOACK 492 ash no-ack 9
ISSUE_STALLED 492 ash no-progress 9'
	run bash -c "dq-watch --journal '$journal' --stall-minutes 10 --ack-seconds 541 < '$snapshot' | events"
	assert_output ''
	journal_line reject '{"kind":"reject","ticket":"492"}' 2026-11-23T14:52:00Z
	run bash -c "dq-watch --journal '$journal' --stall-minutes 5 --ack-seconds 60 < '$snapshot' | events"
	assert_output ''
}

@test "a dry run's journal lines count for nothing" {
	jq -c '.commit = false' "$EXAMPLES/agents-journal.ndjson" > "$journal"
	run bash -c "dq-watch --journal '$journal' --stall-minutes 1 --ack-seconds 1 < '$snapshot' | events"
	assert_output ''
}

@test "a missing journal is empty; a torn last line is skipped with a warning" {
	run bash -c "dq-watch --journal '$BATS_TEST_TMPDIR/none' --stall-minutes 1 < '$snapshot' | events"
	assert_success
	assert_output ''
	printf '{"kind":"journal","phase":"outcome"' >> "$journal"
	run --separate-stderr bash -c "dq-watch --journal '$journal' --stall-minutes 45 < '$snapshot' | events"
	assert_success
	assert_output 'ISSUE_STALLED 490 victor no-progress 60'
	assert_equal "$stderr" "dq-watch: $journal: line 9: torn last line skipped"
}

@test "the same input and --now give the same bytes" {
	all="--stall-minutes 45 --ack-seconds 300 --idle-minutes 60 --queue-stall-minutes 240 --redispatch-on-stall --redispatch-on-noack"
	a=$(watch $all | sha256sum)
	b=$(watch $all | sha256sum)
	assert_equal "$a" "$b"
	run bash -c "dq-watch --journal '$journal' --stall-minutes 45 --now 2026-11-23T14:30:00Z < '$snapshot' | events"
	assert_output ''
}

@test "bad records and values are errors with the line" {
	run --separate-stderr bash -c "sed 's/\"last_seen_at\":\"2026-11-23T13:30:00Z\"/\"last_seen_at\":\"yesterday\"/' '$snapshot' |
	    dq-watch --idle-minutes 60"
	assert_failure 65
	assert_equal "$stderr" 'dq-watch: line 4: member juno: "last_seen_at" is not an RFC 3339 time'
	run --separate-stderr dq-watch --stall-minutes soon < /dev/null
	assert_failure 64
	assert_equal "$stderr" 'dq-watch: --stall-minutes: expected a whole number from 0 to 525600, not "soon"
Try '"'dq-watch --help'"' for more information.'
}
