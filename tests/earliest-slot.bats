#!/usr/bin/env bats
# dq-pick --mode earliest-slot: the earliest free slot wins; ties go to
# lower calendar density, then history, then round robin.

setup() {
	load helper
	# A stage that fails inside a pipeline fails the test.
	set -o pipefail
	CAL="$FIXTURES/calendar.ndjson"
}

pick() {
	dq-eligible < "$CAL" | dq-pick --mode earliest-slot "$@"
}

# Two members free around the clock in UTC, x and y, and one ticket;
# extra records (as NDJSON lines) go before the ticket.
pair() {
	printf '%s\n' \
	    '{"kind":"run","id":"pair","now":"2026-11-23T14:02:00Z"}' \
	    '{"kind":"member","id":"x","teams":["1"],"status":"ONLINE","open":{},"created_at":"2024-01-01T00:00:00Z"}' \
	    '{"kind":"member","id":"y","teams":["1"],"status":"ONLINE","open":{},"created_at":"2024-02-01T00:00:00Z"}' \
	    '{"kind":"team","id":"1","name":"Desk","boards":["Help Desk"],"members":["x","y"],"default":true}' \
	    "$@" \
	    '{"kind":"ticket","id":"7","summary":"Outlook crashes on start","board":"Help Desk","status":"New","company":"Acme Corp","type":"email","owner":null,"team":null}' |
	dq-eligible | dq-pick --mode earliest-slot
}

@test "--slot-minutes above 480 is a usage error" {
	run -64 dq-pick --mode earliest-slot --slot-minutes 481 < /dev/null
	assert_output --partial "--slot-minutes: expected a whole number from 1 to 480, not \"481\""
	run -0 dq-pick --mode earliest-slot --slot-minutes 480 < /dev/null
	run -64 dq-pick --slot-minutes 0 < /dev/null
}

@test "the earliest slot wins, and the reason names it" {
	run -0 pick
	run -0 field 1001 '.dispatch | [.mode, .outcome, .chosen, .reason]' <<< "$output"
	assert_output '["EARLIEST_SLOT","assigned","cho","earliest-slot:2026-11-23T14:50:00Z"]'
}

@test "every candidate shows its slot, density and history, best first" {
	run -0 pick
	run -0 field 1001 '.dispatch.candidates' <<< "$output"
	assert_output '[{"id":"cho","score":"2026-11-23T14:50:00Z","active":0,"slot":{"start":"2026-11-23T14:50:00Z","end":"2026-11-23T15:20:00Z"},"density":0.167,"history":0,"evidence":[]},{"id":"ana","score":"2026-11-23T15:10:00Z","active":0,"slot":{"start":"2026-11-23T15:10:00Z","end":"2026-11-23T15:40:00Z"},"density":0.107,"history":0,"evidence":[]},{"id":"ben","score":"2026-11-24T03:30:00Z","active":0,"slot":{"start":"2026-11-24T03:30:00Z","end":"2026-11-24T04:00:00Z"},"density":0,"history":0,"evidence":[]}]'
}

@test "the chosen slot is booked before the next ticket is decided" {
	run -0 pick
	run -0 field 1002 '[.dispatch.chosen, (.dispatch.candidates[] | select(.id == "cho") | .score)]' <<< "$output"
	assert_output '["ana","2026-11-23T15:30:00Z"]'
}

@test "a member not free in the horizon is excluded as no-slot; nobody free is unassigned" {
	run -0 pick --horizon-hours 1
	run -0 field 1001 '.dispatch | [.chosen, .excluded]' <<< "$output"
	assert_output '["cho",[{"why":"no-slot","ids":["ana","ben"]}]]'
	run -0 pick --horizon-hours 1
	run -0 field 1002 '.dispatch | [.outcome, .reason, .candidates, .excluded]' <<< "$output"
	assert_output '["unassigned","no-eligible-candidate",[],[{"why":"no-slot","ids":["ana","ben","cho"]}]]'
}

@test "a member in an unknown zone cannot be scheduled" {
	run -0 --separate-stderr pair '{"kind":"member","id":"y","teams":["1"],"status":"ONLINE","open":{},"tz":"Mars/Olympus"}' < /dev/null
	assert_equal "$stderr" 'dq-eligible: line 5: member y: unknown time zone "Mars/Olympus"
dq-pick: line 5: member y: unknown time zone "Mars/Olympus"'
	run -0 field 7 '.dispatch | [.chosen, .excluded]' <<< "$output"
	assert_output '["x",[{"why":"unknown-tz","ids":["y"]}]]'
}

@test "the same start: the lower calendar density wins" {
	run -0 pair '{"kind":"entry","id":"e","member":"x","start":"2026-11-23T20:00:00Z","end":"2026-11-23T21:00:00Z"}' < /dev/null
	run -0 field 7 '.dispatch | [.chosen, [.candidates[] | [.id, .score, .density]]]' <<< "$output"
	assert_output '["y",[["y","2026-11-23T14:15:00Z",0],["x","2026-11-23T14:15:00Z",0.042]]]'
}

@test "the same start and density: history decides" {
	run -0 pair '{"kind":"history","id":"h","ticket":"h","owner":"y","company":"Acme Corp","type":"email","summary":"Outlook crashes","closed_at":"2026-11-20T12:00:00Z"}' < /dev/null
	run -0 field 7 '.dispatch | [.chosen, [.candidates[] | .density, (.history > 0)]]' <<< "$output"
	assert_output '["y",[0,true,0,false]]'
}

@test "all else equal: round robin" {
	run -0 pair < /dev/null
	run -0 field 7 '.dispatch | [.chosen, .reason]' <<< "$output"
	assert_output '["x","earliest-slot:2026-11-23T14:15:00Z"]'
}

@test "a ticket assigned before dq-pick holds its slot in dq-pick's calendar" {
	run -0 bash -o pipefail -c "sed '/\"id\":\"1001\"/i {\"kind\":\"ticket\",\"id\":\"999\",\"board\":\"Help Desk\",\"dispatch\":{\"mode\":\"LEAST_ACTIVE\",\"outcome\":\"assigned\",\"chosen\":\"cho\",\"reason\":\"least-active:0\"}}' '$CAL' | dq-eligible | dq-pick --mode earliest-slot"
	run -0 field 1001 '[.dispatch.chosen, (.dispatch.candidates[] | select(.id == "cho") | .score)]' <<< "$output"
	assert_output '["ana","2026-11-23T15:30:00Z"]'
}

@test "a later entry with the same id replaces the earlier" {
	run -0 bash -o pipefail -c "sed '/\"id\":\"e3\"/a {\"kind\":\"entry\",\"id\":\"e2\",\"member\":\"cho\",\"start\":\"2026-11-23T16:00:00Z\",\"end\":\"2026-11-23T16:30:00Z\"}' '$CAL' | dq-eligible | dq-pick --mode earliest-slot"
	run -0 field 1001 '.dispatch.reason' <<< "$output"
	assert_output '"earliest-slot:2026-11-23T14:15:00Z"'
}

@test "a member record that changes hours mid-stream changes their free time" {
	run -0 bash -o pipefail -c "sed '/\"id\":\"1001\"/a {\"kind\":\"member\",\"id\":\"cho\",\"teams\":[\"10\"],\"status\":\"ONLINE\",\"open\":{},\"tz\":\"Europe/London\",\"hours\":{\"sat\":[\"09:00\",\"17:00\"]}}' '$CAL' | dq-eligible | dq-pick --mode earliest-slot"
	run -0 jq -c 'select(.kind == "ticket" and .eligible) | [.id, .dispatch.chosen, .dispatch.excluded]' <<< "$output"
	assert_output '["1001","cho",[]]
["1002","ana",[{"why":"no-slot","ids":["cho"]}]]'
}

@test "a malformed entry stops dq-pick with exit 65" {
	run -65 dq-pick --mode earliest-slot <<< '{"kind":"entry","id":"e","member":"x","start":"soon","end":"2026-11-23T15:00:00Z"}'
	assert_output 'dq-pick: line 1: entry e: "start" is not an RFC 3339 time'
}

@test "same input and --now: the same bytes" {
	pick --now 2026-11-23T16:00:00Z > "$BATS_TEST_TMPDIR/a"
	pick --now 2026-11-23T16:00:00Z > "$BATS_TEST_TMPDIR/b"
	cmp "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
	run -0 field 1001 '.dispatch.reason' < "$BATS_TEST_TMPDIR/a"
	assert_output '"earliest-slot:2026-11-23T16:10:00Z"'
}

# Monday 2026-11-23 at 17:00Z: t works 08:00-22:00 UTC on Mondays and
# Tuesdays; AWAY is its "away" list. Extra records go before the ticket.
absent() {
	local away=$1
	shift
	printf '%s\n' \
	    '{"kind":"run","id":"away","now":"2026-11-23T17:00:00Z"}' \
	    "{\"kind\":\"member\",\"id\":\"t\",\"teams\":[\"1\"],\"status\":\"OFFLINE\",\"open\":{},\"tz\":\"UTC\",\"hours\":{\"mon\":[\"08:00\",\"22:00\"],\"tue\":[\"08:00\",\"22:00\"]},\"away\":$away}" \
	    '{"kind":"team","id":"1","name":"Desk","boards":["Help Desk"],"members":["t"],"default":true}' \
	    "$@" \
	    '{"kind":"ticket","id":"7","summary":"Outlook crashes on start","board":"Help Desk","status":"New","company":"Acme Corp","owner":null,"team":null}'
}
export -f absent
DOCTOR='[{"start":"2026-11-23T13:00:00Z","end":"2026-11-23T18:30:00Z","type":"Doctor"}]'

@test "away now, back within the horizon: a candidate, booked after the absence and its buffer" {
	printf 'mode = earliest-slot\nbuffer-minutes = 10\n' > "$BATS_TEST_TMPDIR/policy"
	export DQ_POLICY="$BATS_TEST_TMPDIR/policy"
	run -0 bash -c "absent '$DOCTOR' | dq-eligible | dq-pick | dq-schedule"
	run -0 field 7 '[.eligible.candidates, .dispatch.reason, .slot]' <<< "$output"
	assert_output '[["t"],"earliest-slot:2026-11-23T18:40:00Z",{"member":"t","start":"2026-11-23T18:40:00Z","end":"2026-11-23T19:10:00Z","buffer_minutes":10}]'
	# Any other mode: offline.
	run -0 bash -c "absent '$DOCTOR' | dq-eligible --mode least-active"
	run -0 field 7 '.eligible | [.candidates, .excluded]' <<< "$output"
	assert_output '[[],[{"why":"offline","ids":["t"]}]]'
}

@test "absences that meet are one; back after the horizon is offline" {
	local away='[{"start":"2026-11-23T18:30:00Z","end":"2026-11-24T20:00:00Z","type":"Sick"},{"start":"2026-11-23T13:00:00Z","end":"2026-11-23T18:30:00Z","type":"Doctor"}]'
	run -0 bash -c "absent '$away' | dq-eligible --mode earliest-slot"
	run -0 field 7 '.eligible | [.candidates, .excluded]' <<< "$output"
	assert_output '[[],[{"why":"offline","ids":["t"]}]]'
	run -0 bash -c "absent '$away' | dq-eligible --mode earliest-slot --horizon-hours 30 | dq-pick --mode earliest-slot --horizon-hours 30"
	run -0 field 7 '.dispatch.reason' <<< "$output"
	assert_output '"earliest-slot:2026-11-24T20:10:00Z"'
}

@test "OFFLINE with no absence over now stays offline; an absence over now is offline whatever the status" {
	local later='[{"start":"2026-11-23T19:00:00Z","end":"2026-11-23T20:00:00Z","type":"Doctor"}]'
	run -0 bash -c "absent '$later' | dq-eligible --mode earliest-slot"
	run -0 field 7 '.eligible.excluded' <<< "$output"
	assert_output '[{"why":"offline","ids":["t"]}]'
	run -0 bash -c "absent '$DOCTOR' | sed 's/\"OFFLINE\"/\"ONLINE\"/' | dq-eligible --mode round-robin"
	run -0 field 7 '.eligible.excluded' <<< "$output"
	assert_output '[{"why":"offline","ids":["t"]}]'
}

@test "a member record that replaces another takes its absences off the calendar" {
	run -0 bash -c "absent '$DOCTOR' '{\"kind\":\"member\",\"id\":\"t\",\"teams\":[\"1\"],\"status\":\"ONLINE\",\"tz\":\"UTC\",\"hours\":{\"mon\":[\"08:00\",\"22:00\"]}}' | dq-eligible --mode earliest-slot | dq-pick --mode earliest-slot"
	run -0 field 7 '.dispatch.reason' <<< "$output"
	assert_output '"earliest-slot:2026-11-23T17:10:00Z"'
}
