#!/usr/bin/env bats
# dq-schedule: a calendar slot for each assigned ticket.

setup() {
	load helper
	# A stage that fails inside a pipeline fails the test.
	set -o pipefail
	CAL="$FIXTURES/calendar.ndjson"
}

picked() {
	dq-eligible < "$CAL" | dq-pick --mode earliest-slot "$@"
}

# The fixture's context, then twenty new tickets.
batch() {
	grep -v '"kind":"ticket"' "$CAL"
	for i in $(seq 1 20); do
		printf '{"kind":"ticket","id":"%d","summary":"Batch %d","board":"Help Desk","status":"New","owner":null,"team":null,"entered_at":"2026-11-23T13:%02d:00Z"}\n' \
		    $((2000 + i)) "$i" "$((i + 10))"
	done
}

# Pairs of a member's entries and slots, in order, closer than the
# buffer (in minutes, $1); none is the right answer.
crowded() {
	jq -sc --argjson buf "$1" '
	    def span: {member, s: (.start | fromdateiso8601), e: (.["end"] | fromdateiso8601)};
	    [(.[] | select(.kind == "entry") | span),
	     (.[] | select(.kind == "ticket" and .slot.start) | .slot | span)]
	    | group_by(.member)
	    | map(sort_by(.s) | . as $v | range(1; length)
		| select($v[.].s < $v[. - 1].e + $buf * 60) | [$v[. - 1], $v[.]])'
}

@test "--slot-minutes above 480 is a usage error" {
	run -64 dq-schedule --slot-minutes 481 < /dev/null
	assert_output "dq-schedule: --slot-minutes: expected a whole number from 1 to 480, not \"481\"
Try 'dq-schedule --help' for more information."
	run -0 dq-schedule --slot-minutes 480 < /dev/null
}

@test "--help lists the slot options and --backfill" {
	run -0 dq-schedule --help
	assert_line --partial '--[no-]backfill'
	assert_line --partial '--slot-minutes N'
	assert_line --partial '--round-minutes N'
	refute_line --partial '--mode'
}

@test "an assigned ticket gets the slot dq-pick chose" {
	run -0 bash -o pipefail -c "dq-eligible < '$CAL' | dq-pick --mode earliest-slot | dq-schedule"
	run -0 field 1001 '.slot' <<< "$output"
	assert_output '{"member":"cho","start":"2026-11-23T14:50:00Z","end":"2026-11-23T15:20:00Z","buffer_minutes":10}'
}

@test "other records and tickets of other outcomes pass through byte for byte" {
	picked > "$BATS_TEST_TMPDIR/in"
	dq-schedule < "$BATS_TEST_TMPDIR/in" > "$BATS_TEST_TMPDIR/out"
	diff <(grep -v '"outcome":"assigned"' "$BATS_TEST_TMPDIR/in") \
	    <(grep -v '"outcome":"assigned"' "$BATS_TEST_TMPDIR/out")
	run -0 jq -c 'select(.slot) | .id' "$BATS_TEST_TMPDIR/out"
	assert_output $'"1001"\n"1002"'
}

@test "twenty tickets over three members: no overlap, every buffer kept" {
	batch | dq-eligible | dq-pick --mode earliest-slot > "$BATS_TEST_TMPDIR/picked"
	run -0 --separate-stderr dq-schedule < "$BATS_TEST_TMPDIR/picked"
	assert_equal "$stderr" ""
	echo "$output" > "$BATS_TEST_TMPDIR/out"
	run -0 jq -s '[.[] | select(.slot.start)] | length' "$BATS_TEST_TMPDIR/out"
	assert_output 20
	run -0 jq -sc '[.[] | select(.slot) | .slot.member] | group_by(.) | map(length)' \
	    "$BATS_TEST_TMPDIR/out"
	assert_output '[10,2,8]'
	run -0 crowded 10 < "$BATS_TEST_TMPDIR/out"
	assert_output '[]'
}

@test "dq-schedule books exactly the start dq-pick chose" {
	batch | dq-eligible | dq-pick --mode earliest-slot | dq-schedule > "$BATS_TEST_TMPDIR/out"
	run -0 jq -c 'select(.kind == "ticket") | .dispatch as $d
	    | ($d.candidates[] | select(.id == $d.chosen) | .slot.start) as $want
	    | select(.slot.member != $d.chosen or .slot.start != $want
		or $d.reason != "earliest-slot:" + $want) | .id' "$BATS_TEST_TMPDIR/out"
	assert_output ''
}

@test "a start that was taken meanwhile: a warning, and the earliest free one" {
	picked > "$BATS_TEST_TMPDIR/picked"
	# Someone booked cho at 14:50 after dq-pick ran.
	run -0 --separate-stderr bash -o pipefail -c "sed '/\"id\":\"1001\"/i {\"kind\":\"entry\",\"id\":\"e9\",\"member\":\"cho\",\"start\":\"2026-11-23T14:50:00Z\",\"end\":\"2026-11-23T15:20:00Z\"}' '$BATS_TEST_TMPDIR/picked' | dq-schedule"
	assert_equal "$stderr" "dq-schedule: line 11: ticket 1001: the slot dq-pick chose for cho at 2026-11-23T14:50:00Z is not free; booked 2026-11-23T15:30:00Z instead"
	run -0 field 1001 '.slot.start' <<< "$output"
	assert_output '"2026-11-23T15:30:00Z"'
}

@test "no slot within the horizon: slot.error is no-slot, and the ticket flows on" {
	run -0 bash -o pipefail -c "dq-eligible < '$CAL' | dq-pick --mode round-robin | dq-schedule --horizon-hours 1"
	run -0 jq -c 'select(.kind == "ticket") | [.id, .dispatch.chosen, .slot]' <<< "$output"
	assert_output '["1001","ana",{"error":"no-slot"}]
["1002","ben",{"error":"no-slot"}]
["1003",null,null]
["1004",null,null]'
}

@test "--backfill books owned tickets that no entry names" {
	run -0 bash -o pipefail -c "dq-eligible < '$CAL' | dq-pick --mode earliest-slot | dq-schedule"
	run -0 field 1003 '.slot' <<< "$output"
	assert_output 'null'
	run -0 bash -o pipefail -c "dq-eligible < '$CAL' | dq-pick --mode earliest-slot | dq-schedule --backfill"
	run -0 jq -c 'select(.kind == "ticket" and .owner) | [.id, .slot]' <<< "$output"
	assert_output '["1003",{"member":"ben","start":"2026-11-24T03:30:00Z","end":"2026-11-24T04:00:00Z","buffer_minutes":10}]
["1004",null]'
}

@test "--backfill also reads tickets that no stage before has seen" {
	run -0 dq-schedule --backfill < "$CAL"
	run -0 jq -c 'select(.slot) | [.id, .slot.member, .slot.start]' <<< "$output"
	assert_output '["1003","ben","2026-11-24T03:30:00Z"]'
}

@test "a ticket that has a slot keeps it, and its time is taken" {
	picked | dq-schedule > "$BATS_TEST_TMPDIR/once"
	dq-schedule < "$BATS_TEST_TMPDIR/once" > "$BATS_TEST_TMPDIR/twice"
	cmp "$BATS_TEST_TMPDIR/once" "$BATS_TEST_TMPDIR/twice"
}

@test "an assignment to an unknown member: a warning and no-slot" {
	run -0 --separate-stderr dq-schedule <<< '{"kind":"ticket","id":"5","dispatch":{"outcome":"assigned","chosen":"zed"}}'
	assert_equal "$stderr" 'dq-schedule: line 1: ticket 5: no member record with id "zed"'
	assert_output '{"kind":"ticket","id":"5","dispatch":{"outcome":"assigned","chosen":"zed"},"slot":{"error":"no-slot"}}'
}

@test "--now and DQ_NOW override the run record" {
	picked > "$BATS_TEST_TMPDIR/picked"
	run -0 --separate-stderr dq-schedule --now 2026-11-23T16:00:00Z < "$BATS_TEST_TMPDIR/picked"
	run -0 field 1001 '.slot.start' <<< "$output"
	assert_output '"2026-11-23T16:10:00Z"'
	DQ_NOW=2026-11-23T16:00:00Z run -0 --separate-stderr dq-schedule < "$BATS_TEST_TMPDIR/picked"
	run -0 field 1001 '.slot.start' <<< "$output"
	assert_output '"2026-11-23T16:10:00Z"'
}

@test "same input and --now: the same bytes" {
	batch > "$BATS_TEST_TMPDIR/in"
	for n in 1 2; do
		dq-eligible < "$BATS_TEST_TMPDIR/in" | dq-pick --mode earliest-slot |
		    dq-schedule --backfill --now 2026-11-23T15:00:00Z > "$BATS_TEST_TMPDIR/out$n"
	done
	cmp "$BATS_TEST_TMPDIR/out1" "$BATS_TEST_TMPDIR/out2"
}

@test "a policy file sets the slot options" {
	printf 'slot-minutes = 60\nbuffer-minutes = 0\nbackfill = yes\nmode = least-active\n' > "$BATS_TEST_TMPDIR/policy"
	run -0 dq-schedule --policy "$BATS_TEST_TMPDIR/policy" < "$CAL"
	run -0 jq -c 'select(.slot) | .slot' <<< "$output"
	assert_output '{"member":"ben","start":"2026-11-24T03:30:00Z","end":"2026-11-24T04:30:00Z","buffer_minutes":0}'
}

@test "the same ticket twice: the later record takes the slot, the earlier's is given back" {
	# ana works around the clock; 1001 comes on line 3 and again on line
	# 5, the second time for ben.
	{ echo '{"kind":"run","id":"r","now":"2026-11-23T15:00:00Z"}'
	  echo '{"kind":"member","id":"ana"}'
	  for t in 1001:ana 1002:ana 1001:ben 1003:ana; do
		printf '{"kind":"ticket","id":"%s","dispatch":{"outcome":"assigned","chosen":"%s","reason":"round-robin"}}\n' "${t%:*}" "${t#*:}"
	  done; } > "$BATS_TEST_TMPDIR/twice"
	sed -i '/"kind":"member"/a {"kind":"member","id":"ben"}' "$BATS_TEST_TMPDIR/twice"
	run -0 --separate-stderr dq-schedule < "$BATS_TEST_TMPDIR/twice"
	assert_equal "$stderr" "dq-schedule: line 6: ticket 1001 again: this record replaces the one of line 4"
	# ana's 15:10 goes back when 1001 goes to ben: 1003 takes it.
	run -0 jq -r 'select(.kind == "ticket") | "\(.id) \(.slot.member) \(.slot.start)"' <<< "$output"
	assert_output "1001 ana 2026-11-23T15:10:00Z
1002 ana 2026-11-23T15:50:00Z
1001 ben 2026-11-23T15:10:00Z
1003 ana 2026-11-23T15:10:00Z"
	# A record that came with its slot gives that back too.
	{ head -n 3 "$BATS_TEST_TMPDIR/twice"
	  echo '{"kind":"ticket","id":"1001","dispatch":{"outcome":"assigned","chosen":"ana","reason":"round-robin"},"slot":{"member":"ana","start":"2026-11-23T15:10:00Z","end":"2026-11-23T15:40:00Z","buffer_minutes":10}}'
	  echo '{"kind":"ticket","id":"1001","dispatch":{"outcome":"assigned","chosen":"ben","reason":"round-robin"}}'
	  echo '{"kind":"ticket","id":"1005","dispatch":{"outcome":"assigned","chosen":"ana","reason":"round-robin"}}'
	} > "$BATS_TEST_TMPDIR/booked"
	run -0 --separate-stderr dq-schedule < "$BATS_TEST_TMPDIR/booked"
	assert_equal "$stderr" "dq-schedule: line 5: ticket 1001 again: this record replaces the one of line 4"
	run -0 jq -r 'select(.kind == "ticket") | "\(.id) \(.slot.member) \(.slot.start)"' <<< "$output"
	assert_output "1001 ana 2026-11-23T15:10:00Z
1001 ben 2026-11-23T15:10:00Z
1005 ana 2026-11-23T15:10:00Z"
}
