#!/usr/bin/env bats
# dq-fetch: sources, the snapshot and CSV readers, the order of the stream.

setup() {
	load helper
	F=$FIXTURES/fetch
}

# The stream with the run id's hash blanked, for exact comparisons.
blank_run() {
	sed 's/"id":"dq-\([0-9TZ]*\)-[0-9a-f]\{8\}"/"id":"dq-\1-HASH"/'
}

@test "no source is a usage error" {
	run -64 dq-fetch </dev/null
	assert_output --partial "no source: give --connectwise, --from FILE or --csv-tickets FILE"
}

@test "two sources are a usage error" {
	run -64 dq-fetch --from "$F/snapshot.ndjson" --csv-tickets "$F/tickets.csv" </dev/null
	assert_output --partial "give only one source"
	run -64 dq-fetch --connectwise --from - </dev/null
}

@test "a source in the policy file counts too" {
	echo "connectwise = yes" >"$BATS_TEST_TMPDIR/policy"
	run -64 dq-fetch --policy "$BATS_TEST_TMPDIR/policy" --from "$F/snapshot.ndjson" </dev/null
	assert_output --partial "give only one source"
}

@test "--csv-members needs --csv-tickets" {
	run -64 dq-fetch --csv-members "$F/members.csv" </dev/null
	assert_output --partial "--csv-members needs --csv-tickets"
}

@test "an operand is a usage error" {
	run -64 dq-fetch --from - extra </dev/null
	assert_output --partial 'unexpected operand "extra"'
}

@test "--help lists the source options" {
	run dq-fetch --help
	assert_success
	assert_output --partial "--connectwise"
	assert_output --partial "--csv-tickets FILE"
	assert_output --partial "--history-days N"
}

@test "--from: run first, context by kind and id, tickets by entered_at and id" {
	run --separate-stderr bash -c "dq-fetch --from '$F/snapshot.ndjson' | sed 's/-[0-9a-f]\{8\}\"/-HASH\"/'"
	assert_success
	assert_output "$(cat "$F/snapshot.expected")"
}

@test "--from: the snapshot's now is kept and its run id is reproducible" {
	a=$(dq-fetch --from "$F/snapshot.ndjson" | head -n1)
	b=$(dq-fetch --from "$F/snapshot.ndjson" | head -n1)
	assert_equal "$a" "$b"
	[[ $a == '{"kind":"run","id":"dq-20261123T150000Z-'????????'","now":"2026-11-23T15:00:00Z"}' ]]
}

@test "--from: --now overrides the snapshot's now" {
	run dq-fetch --now 2026-12-01T00:00:00Z --from "$F/snapshot.ndjson"
	assert_success
	assert_line --index 0 --regexp '^\{"kind":"run","id":"dq-20261201T000000Z-[0-9a-f]{8}","now":"2026-12-01T00:00:00Z"\}$'
}

@test "--from -: reads stdin; times become UTC; later duplicates win" {
	run dq-fetch --now 2026-11-23T15:00:00Z --from - <<-'EOF'
	{"kind":"ticket","id":"1","entered_at":"2026-11-23T10:00:00+01:00","summary":"old"}
	{"kind":"entry","id":"e1","member":"adoe","start":"2026-11-23T10:00:00.5-05:00","end":"2026-11-23T16:00:00Z"}
	{"kind":"ticket","id":"1","entered_at":"2026-11-23T10:00:00+01:00","summary":"new"}
	EOF
	assert_success
	assert_line --index 1 '{"kind":"entry","id":"e1","member":"adoe","start":"2026-11-23T15:00:00Z","end":"2026-11-23T16:00:00Z"}'
	assert_line --index 2 '{"kind":"ticket","id":"1","entered_at":"2026-11-23T09:00:00Z","summary":"new"}'
	assert_equal "${#lines[@]}" 3
}

@test "--from: away spans come through with their times in UTC; a bad one is exit 65" {
	run -0 dq-fetch --now 2026-11-23T17:00:00Z --from - <<-'EOF'
	{"kind":"member","id":"t","status":"OFFLINE","away":[{"start":"2026-11-23T14:00:00+01:00","end":"2026-11-23T18:30:00Z","type":"Doctor"}]}
	EOF
	assert_line --index 1 '{"kind":"member","id":"t","status":"OFFLINE","away":[{"start":"2026-11-23T13:00:00Z","end":"2026-11-23T18:30:00Z","type":"Doctor"}]}'
	run -65 dq-fetch --from - <<<'{"kind":"member","id":"t","away":[{"start":"soon","end":"2026-11-23T18:30:00Z"}]}'
	assert_output 'dq-fetch: line 1: member t: away 1: "start" is not an RFC 3339 time'
	run -65 dq-fetch --from - <<<'{"kind":"member","id":"t","away":[{"start":"2026-11-23T19:00:00Z","end":"2026-11-23T18:30:00Z"}]}'
	assert_output 'dq-fetch: line 1: member t: away 1: "end" is before "start"'
	run -65 dq-fetch --from - <<<'{"kind":"member","id":"t","away":"today"}'
	assert_output 'dq-fetch: line 1: member t: "away" must be a list of {"start", "end", "type"}'
}

@test "--from: ids that are numbers sort as numbers" {
	run dq-fetch --now 2026-11-23T15:00:00Z --from - <<-'EOF'
	{"kind":"team","id":"10"}
	{"kind":"team","id":"9"}
	{"kind":"team","id":"x"}
	EOF
	assert_success
	assert_equal "$(printf '%s\n' "${lines[@]:1}" | jq -r '.id' | paste -sd,)" "9,10,x"
}

@test "--from: a bad line stops with its number and exit 65, writing nothing" {
	run --separate-stderr dq-fetch --from - <<-'EOF'
	{"kind":"ticket","id":"1","entered_at":"2026-11-23T10:00:00Z"}
	{"kind":"ticket","id":2}
	EOF
	assert_failure 65
	assert_output ""
	assert_equal "$stderr" 'dq-fetch: line 2: ticket: "id" must be a non-empty string'
}

@test "--from: bad snapshots name file and line" {
	printf '{"kind":"member","id":"a","status":"AWAY"}\n' >"$BATS_TEST_TMPDIR/s.ndjson"
	run -65 dq-fetch --from "$BATS_TEST_TMPDIR/s.ndjson"
	assert_output "dq-fetch: $BATS_TEST_TMPDIR/s.ndjson: line 1: member a: status \"AWAY\" is not ONLINE, BUSY or OFFLINE"
	printf '{"kind":"ticket","id":"1","entered_at":"soon"}\n' >"$BATS_TEST_TMPDIR/s.ndjson"
	run -65 dq-fetch --from "$BATS_TEST_TMPDIR/s.ndjson"
	assert_output --partial 'line 1: ticket 1: "entered_at" is not an RFC 3339 time'
	printf '{"kind":"entry","id":"e","member":"a"}\n' >"$BATS_TEST_TMPDIR/s.ndjson"
	run -65 dq-fetch --from "$BATS_TEST_TMPDIR/s.ndjson"
	assert_output --partial 'line 1: entry: "start" must be a non-empty string'
	printf '{"kind":"ticket","id":"1"}' >"$BATS_TEST_TMPDIR/s.ndjson"
	run -65 dq-fetch --from "$BATS_TEST_TMPDIR/s.ndjson"
	assert_output --partial 'line 1: last line has no newline'
	printf 'not json\n' >"$BATS_TEST_TMPDIR/s.ndjson"
	run -65 dq-fetch --from "$BATS_TEST_TMPDIR/s.ndjson"
	assert_output --partial 'line 1: invalid JSON'
}

@test "--from: a missing file is exit 66" {
	run -66 dq-fetch --from "$BATS_TEST_TMPDIR/none.ndjson"
	assert_output "dq-fetch: $BATS_TEST_TMPDIR/none.ndjson: No such file or directory"
}

@test "--ticket keeps just those tickets of a snapshot" {
	run dq-fetch --ticket 9 --ticket 8 --from "$F/snapshot.ndjson"
	assert_success
	assert_equal "$(printf '%s\n' "${lines[@]}" | tickets | jq -r .id | paste -sd,)" "8,9"
}

@test "CSV: header-driven mapping of tickets and members" {
	run --separate-stderr dq-fetch --now 2026-11-23T15:00:00Z \
		--csv-tickets "$F/tickets.csv" --csv-members "$F/members.csv"
	assert_success
	assert_equal "$stderr" "dq-fetch: $F/tickets.csv: column \"Notes\" ignored"
	expected=$(sed 1d "$F/csv.expected")
	assert_equal "$(printf '%s\n' "${lines[@]:1}")" "$expected"
}

@test "CSV: labels default to type, subtype and item" {
	run dq-fetch -q --now 2026-11-23T15:00:00Z --csv-tickets "$F/tickets.csv"
	assert_success
	assert_equal "$(printf '%s\n' "${lines[@]}" | field 1002 .labels)" '["hardware","printer","toner"]'
	assert_equal "$(printf '%s\n' "${lines[@]}" | field 1003 .labels)" '[]'
}

@test "CSV: hours read as in pods: stretches split by spaces, night shifts, groups adding up" {
	printf 'id\n1\n' >"$BATS_TEST_TMPDIR/t.csv"
	cat >"$BATS_TEST_TMPDIR/m.csv" <<-'END'
	id,hours
	adoe,mon-fri 08:00-12:00 13:00-17:00
	bsmith,"sun-thu 22:00-6:00; mon 7:00-8:00"
	END
	run --separate-stderr dq-fetch --csv-tickets "$BATS_TEST_TMPDIR/t.csv" \
	    --csv-members "$BATS_TEST_TMPDIR/m.csv"
	assert_success
	assert_equal "$(printf '%s\n' "${lines[@]}" | jq -c 'select(.id == "adoe") | .hours.fri')" \
	    '[["08:00","12:00"],["13:00","17:00"]]'
	assert_equal "$(printf '%s\n' "${lines[@]}" | jq -c 'select(.id == "bsmith") | .hours')" \
	    '{"mon":[["22:00","06:00"],["07:00","08:00"]],"tue":["22:00","06:00"],"wed":["22:00","06:00"],"thu":["22:00","06:00"],"sun":["22:00","06:00"]}'
}

@test "CSV: a stray quote is exit 65 with the row" {
	printf 'id,summary\n1,ab"c"\n' >"$BATS_TEST_TMPDIR/t.csv"
	run -65 dq-fetch --csv-tickets "$BATS_TEST_TMPDIR/t.csv"
	assert_output "dq-fetch: $BATS_TEST_TMPDIR/t.csv: row 2: malformed CSV: a stray or unterminated quote"
}

@test "CSV: bad cells are exit 65 with row and column" {
	printf 'summary\nx\n' >"$BATS_TEST_TMPDIR/t.csv"
	run -65 dq-fetch --csv-tickets "$BATS_TEST_TMPDIR/t.csv"
	assert_output --partial 'row 1: no "id" column'
	printf 'id,entered\n1,2026-11-23 14:00\n' >"$BATS_TEST_TMPDIR/t.csv"
	run -65 dq-fetch --csv-tickets "$BATS_TEST_TMPDIR/t.csv"
	assert_output --partial 'row 2: entered_at: "2026-11-23 14:00" is not an RFC 3339 time'
	printf 'id\n1\n' >"$BATS_TEST_TMPDIR/t.csv"
	printf 'id,hours\nadoe,weekdays 9-5\n' >"$BATS_TEST_TMPDIR/m.csv"
	run -65 dq-fetch --csv-tickets "$BATS_TEST_TMPDIR/t.csv" --csv-members "$BATS_TEST_TMPDIR/m.csv"
	assert_output --partial 'm.csv: row 2: hours: expected e.g. "mon-fri 08:00-17:00; sat 09:00-12:00", not "weekdays 9-5"'
	printf 'id,tz\nadoe,Mars/Olympus\n' >"$BATS_TEST_TMPDIR/m.csv"
	run -65 dq-fetch --csv-tickets "$BATS_TEST_TMPDIR/t.csv" --csv-members "$BATS_TEST_TMPDIR/m.csv"
	assert_output --partial 'row 2: tz: unknown time zone "Mars/Olympus"'
	printf 'id,Ticket Number\n1,2\n' >"$BATS_TEST_TMPDIR/t.csv"
	run -65 dq-fetch --csv-tickets "$BATS_TEST_TMPDIR/t.csv"
	assert_output --partial 'row 1: columns "id" and "Ticket Number" are both "id"'
}

@test "CSV: an away column; its --available-in-out types are no absence; OFFLINE while away" {
	printf 'id\n1\n' >"$BATS_TEST_TMPDIR/t.csv"
	cat >"$BATS_TEST_TMPDIR/m.csv" <<-'EOF'
	id,status,away
	t,online,2026-11-24T09:00:00-05:00/2026-11-24T12:00:00-05:00 working remotely; 2026-11-23T13:00:00Z/2026-11-23T18:30:00Z Doctor
	u,,2026-11-25T13:00:00Z/2026-11-25T18:30:00Z
	EOF
	run -0 dq-fetch --now 2026-11-23T17:00:00Z --csv-tickets "$BATS_TEST_TMPDIR/t.csv" --csv-members "$BATS_TEST_TMPDIR/m.csv"
	assert_line --index 1 '{"kind":"member","id":"t","status":"OFFLINE","away":[{"start":"2026-11-23T13:00:00Z","end":"2026-11-23T18:30:00Z","type":"Doctor"}]}'
	assert_line --index 2 '{"kind":"member","id":"u","away":[{"start":"2026-11-25T13:00:00Z","end":"2026-11-25T18:30:00Z","type":null}]}'
	run -0 dq-fetch --now 2026-11-23T19:00:00Z --available-in-out Doctor --csv-tickets "$BATS_TEST_TMPDIR/t.csv" --csv-members "$BATS_TEST_TMPDIR/m.csv"
	assert_line --index 1 '{"kind":"member","id":"t","status":"ONLINE","away":[{"start":"2026-11-24T14:00:00Z","end":"2026-11-24T17:00:00Z","type":"working remotely"}]}'
	printf 'id,away\nt,2026-11-23/x\n' >"$BATS_TEST_TMPDIR/m.csv"
	run -65 dq-fetch --csv-tickets "$BATS_TEST_TMPDIR/t.csv" --csv-members "$BATS_TEST_TMPDIR/m.csv"
	assert_output "dq-fetch: $BATS_TEST_TMPDIR/m.csv: row 2: away: expected e.g. \"2026-11-23T13:00:00Z/2026-11-23T18:30:00Z Doctor\", not \"2026-11-23/x\""
	printf 'id,away\nt,2026-11-23T19:00:00Z/2026-11-23T18:00:00Z\n' >"$BATS_TEST_TMPDIR/m.csv"
	run -65 dq-fetch --csv-tickets "$BATS_TEST_TMPDIR/t.csv" --csv-members "$BATS_TEST_TMPDIR/m.csv"
	assert_output --partial 'row 2: away: "2026-11-23T19:00:00Z/2026-11-23T18:00:00Z" ends before it starts'
}

@test "CSV: a missing file is exit 66" {
	run -66 dq-fetch --csv-tickets "$BATS_TEST_TMPDIR/none.csv"
}

@test "output to a full disk is exit 74" {
	run -74 bash -c "dq-fetch --from '$F/snapshot.ndjson' >/dev/full"
}
