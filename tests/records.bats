#!/usr/bin/env bats
# The record layer every stage shares: framing, bad input, pass-through.

setup() {
	load helper
}

@test "records before a malformed line are flushed, then exit 65 naming the line" {
	run --separate-stderr dq-pick < <(printf '%s\n' '{"kind":"note","n":1}' '{"kind":"note",' '{"kind":"note","n":3}')
	assert_failure 65
	assert_output '{"kind":"note","n":1}'
	assert_equal "$stderr" "dq-pick: line 2: invalid JSON: unexpected end of line"
}

@test "trailing garbage after the object is rejected with its column" {
	run --separate-stderr dq-eligible <<< '{"kind":"note"} x'
	assert_failure 65
	assert_equal "$stderr" "dq-eligible: line 1: trailing data after the JSON object at column 17"
}

@test "a JSON value that is not an object is rejected" {
	run --separate-stderr dq-pick <<< '[1,2]'
	assert_failure 65
	assert_equal "$stderr" "dq-pick: line 1: not a JSON object"
	run --separate-stderr dq-pick <<< '42'
	assert_failure 65
	assert_equal "$stderr" "dq-pick: line 1: not a JSON object"
}

@test "a record without kind, or with a kind that is not a string, is rejected" {
	run --separate-stderr dq-eligible <<< '{"id":"1"}'
	assert_failure 65
	assert_equal "$stderr" 'dq-eligible: line 1: record has no "kind"'
	run --separate-stderr dq-eligible <<< '{"kind":7}'
	assert_failure 65
	assert_equal "$stderr" 'dq-eligible: line 1: "kind" is not a string'
}

@test "a last line without a newline is treated as truncated" {
	run --separate-stderr dq-pick < <(printf '%s\n%s' '{"kind":"note"}' '{"kind":"note"}')
	assert_failure 65
	assert_output '{"kind":"note"}'
	assert_equal "$stderr" "dq-pick: line 2: last line has no newline: truncated input?"
}

@test "invalid JSON is reported with json-c's reason" {
	run --separate-stderr dq-pick <<< '{"kind":"note",,}'
	assert_failure 65
	assert_regex "$stderr" '^dq-pick: line 1: invalid JSON: .+'
}

@test "unknown kinds and unknown fields pass through byte for byte" {
	line='{"kind":"widget","id":"x","nested":{"url":"http://a/b","n":1.10,"big":12345678901234567890},"list":[true,null]}'
	run dq-eligible <<< "$line"
	assert_success
	assert_output "$line"
	run dq-pick <<< "$line"
	assert_output "$line"
}

@test "non-compact input comes out compact, slashes unescaped, key order kept" {
	run dq-pick <<< '{ "kind" : "widget", "z": 1, "a": "x\/y" }'
	assert_success
	assert_output '{"kind":"widget","z":1,"a":"x/y"}'
}

@test "CRLF line ends and blank lines are accepted" {
	run dq-eligible < <(printf '{"kind":"note"}\r\n\r\n   \n{"kind":"note","n":2}\r\n')
	assert_success
	assert_equal "${#lines[@]}" 2
	assert_line -n 1 '{"kind":"note","n":2}'
}

@test "empty input gives empty output and success" {
	run dq-pick < /dev/null
	assert_success
	assert_output ''
}

@test "a ticket without a string id is bad input" {
	run --separate-stderr dq-eligible <<< '{"kind":"ticket","id":48113}'
	assert_failure 65
	assert_equal "$stderr" 'dq-eligible: line 1: ticket: "id" must be a non-empty string'
}

@test "a malformed member record is bad input naming the member" {
	run --separate-stderr dq-eligible <<< '{"kind":"member","id":"adoe","status":"AWAY"}'
	assert_failure 65
	assert_equal "$stderr" 'dq-eligible: line 1: member adoe: status "AWAY" is not ONLINE, BUSY or OFFLINE'
	run --separate-stderr dq-eligible <<< '{"kind":"member","id":"adoe","hours":{"mon":["8am","5pm"]}}'
	assert_failure 65
	assert_equal "$stderr" 'dq-eligible: line 1: member adoe: hours.mon: expected ["HH:MM","HH:MM"] or a list of them'
	run --separate-stderr dq-eligible <<< '{"kind":"member","id":"adoe","last_dispatched_at":"yesterday"}'
	assert_failure 65
	assert_equal "$stderr" 'dq-eligible: line 1: member adoe: "last_dispatched_at" is not an RFC 3339 time'
}

@test "a run record with a bad now is bad input" {
	run --separate-stderr dq-pick <<< '{"kind":"run","id":"r","now":"noon"}'
	assert_failure 65
	assert_equal "$stderr" 'dq-pick: line 1: run: "now" is not an RFC 3339 time: "noon"'
}

@test "file operands are read in turn; a missing one is exit 66" {
	printf '{"kind":"note","n":1}\n' > "$BATS_TEST_TMPDIR/a"
	printf '{"kind":"note","n":2}\n' > "$BATS_TEST_TMPDIR/b"
	run dq-eligible "$BATS_TEST_TMPDIR/a" - "$BATS_TEST_TMPDIR/b" <<< '{"kind":"note","n":0}'
	assert_success
	assert_output "$(printf '%s\n' '{"kind":"note","n":1}' '{"kind":"note","n":0}' '{"kind":"note","n":2}')"
	run --separate-stderr dq-eligible "$BATS_TEST_TMPDIR/nope"
	assert_failure 66
	assert_equal "$stderr" "dq-eligible: $BATS_TEST_TMPDIR/nope: No such file or directory"
}

@test "errors in a named file say which file" {
	printf '{"kind":"note"}\nnot json\n' > "$BATS_TEST_TMPDIR/snap.ndjson"
	run --separate-stderr dq-pick "$BATS_TEST_TMPDIR/snap.ndjson"
	assert_failure 65
	assert_regex "$stderr" "^dq-pick: $BATS_TEST_TMPDIR/snap.ndjson: line 2: invalid JSON"
}

@test "a ticket gains its annotation spliced at the end, the rest untouched" {
	run dq-eligible --now 2026-11-23T15:00:00Z <<< '{"kind":"ticket","id":"7","x":{"a":[1,2]},"owner":"adoe"}'
	assert_success
	assert_output '{"kind":"ticket","id":"7","x":{"a":[1,2]},"owner":"adoe","dispatch":{"outcome":"skipped","reason":"already-owned"}}'
}

# Every stage that reads the stream; dq-apply as a dry run.
stages() {
	printf '%s\n' "dq-fetch --from -" dq-watch dq-eligible dq-pick dq-schedule "dq-apply --target none"
}

@test "a string holding \\u0000 is bad input in every stage, never cut short" {
	while read -r stage; do
		run --separate-stderr $stage <<<'{"kind":"member","id":"adoe\u0000evil"}'
		assert_failure 65
		assert_equal "$stderr" "${stage%% *}: line 1: a string holds \\u0000 (NUL)"
		# A key too; an escaped backslash before u0000 is no NUL.
		run --separate-stderr $stage <<<'{"kind":"note","x\u0000":1}'
		assert_failure 65
	done < <(stages)
	run --separate-stderr dq-pick <<<'{"kind":"note","path":"C:\\u0000"}'
	assert_success
	assert_output '{"kind":"note","path":"C:\\u0000"}'
}

@test "invalid UTF-8 is bad input in every stage, never passed on" {
	while read -r stage; do
		run --separate-stderr $stage < <(printf '{"kind":"note","n":1}\n{"kind":"note","s":"caf\xe9"}\n')
		assert_failure 65
		assert_equal "$stderr" "${stage%% *}: line 2: invalid UTF-8"
	done < <(stages)
	# Valid multi-byte text passes untouched.
	run dq-pick < <(printf '{"kind":"note","s":"caf\xc3\xa9 \xe2\x82\xac"}\n')
	assert_success
	assert_output "$(printf '{"kind":"note","s":"caf\xc3\xa9 \xe2\x82\xac"}')"
}

@test "a bad time is bad input in every stage, naming the line and field" {
	ticket='{"kind":"ticket","id":"7","board":"Help Desk","status":"New"'
	while read -r stage; do
		for bad in '"entered_at":"yesterday"' '"updated_at":5' '"slot":{"member":"adoe","start":"2026-13-01T00:00:00Z","end":"2026-11-23T15:00:00Z"}'; do
			run --separate-stderr $stage <<<"$ticket,$bad}"
			assert_failure 65
			assert_regex "$stderr" "^${stage%% *}: line 1: ticket 7: \"(entered_at|updated_at|slot.start)\" is not an RFC 3339 time$"
		done
		run --separate-stderr $stage <<<'{"kind":"member","id":"adoe","last_seen_at":"soon"}'
		assert_failure 65
		run --separate-stderr $stage <<<'{"kind":"event","type":"ISSUE_STALLED","ticket":"7","at":"2026-11-23"}'
		assert_failure 65
		assert_equal "$stderr" "${stage%% *}: line 1: event: \"at\" is not an RFC 3339 time"
	done < <(stages)
}

@test "a record line longer than 16 MiB stops every stage with exit 65" {
	while read -r stage; do
		run --separate-stderr $stage < <(head -c $((17 << 20)) /dev/zero | tr '\0' ' ')
		assert_failure 65
		assert_equal "$stderr" "${stage%% *}: line 1: longer than 16 MiB"
	done < <(stages)
	# Just under the limit is a record like any other.
	run bash -c '{ printf "{\"kind\":\"note\",\"s\":\""
		head -c $(((16 << 20) - 64)) /dev/zero | tr "\0" a
		printf "\"}\n"; } | dq-pick | wc -c'
	assert_success
	assert_output $(((16 << 20) - 64 + 23))
}
