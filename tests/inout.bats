#!/usr/bin/env bats
# The In/Out board (DESIGN §2, §5) against the ConnectWise emulator: which
# entries are absences, the away spans and status dq-fetch makes of them,
# and how dq-eligible, dq-pick and dq-schedule treat a member who is out.
#
# The fixture's Tuesday, 2026-03-10 at 15:00Z. Ticket 5007 (Escalations,
# New, unowned) draws from the Escalation Team: jsmith, rkhan, lchen.
# lchen is at a training until 03-20 on the fixture's board; here rkhan
# (London, UTC+0 in March) sees a doctor until 18:30 and works until 22:00
# that day, and jsmith is on leave until Friday.

bats_require_minimum_version 1.5.0

NOW=2026-03-10T15:00:00Z

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
	export -f cw_requests cw_curl
	set -o pipefail
	export DQ_CW_BACKOFF_MS=1
	# rkhan's calendar runs to 22:00 on Tuesdays.
	cw_control POST data '{"path": "schedule/calendars/4", "merge": {"tuesdayEndTime": "22:00:00"}}' >/dev/null
}

# The In/Out board holds ENTRY... (JSON objects) and nothing else.
board() {
	local rows
	rows=$(printf '%s\n' "$@" | jq -s -c .)
	cw_control POST data "{\"path\": \"system/inOutBoards\", \"value\": $rows}" >/dev/null
}

# An In/Out entry: ID MEMBER-ID IDENTIFIER TYPE-ID TYPE-NAME ENTERED BACK;
# a TYPE-NAME of - leaves the reference without its name.
entry() {
	jq -n -c --argjson id "$1" --argjson mid "$2" --arg who "$3" \
		--argjson tid "$4" --arg type "$5" --arg entered "$6" --arg back "$7" \
		'{id: $id, member: {id: $mid, identifier: $who},
		  inOutType: ({id: $tid} + (if $type == "-" then {} else {name: $type} end)),
		  dateBack: $back,
		  _info: {dateEntered: $entered, lastUpdated: $entered}}'
}

doctor() {
	entry 401 105 rkhan 1 "Out of Office" 2026-03-10T13:00:00Z 2026-03-10T18:30:00Z
}
leave() {
	entry 402 103 jsmith 3 Vacation 2026-03-09T22:00:00Z 2026-03-13T16:00:00Z
}
training() {
	entry 303 106 lchen 4 Training 2026-03-09T23:00:00Z 2026-03-20T22:00:00Z
}

# One field of the member record ID in the stream on stdin.
member() {
	jq -c --arg id "$1" "select(.kind == \"member\" and .id == \$id) | $2"
}

@test "an entry becomes an away span from when it was entered until dateBack, and OFFLINE while it lasts" {
	board "$(doctor)" "$(leave)"
	dq-fetch --connectwise --now "$NOW" >"$BATS_TEST_TMPDIR/out"
	run member rkhan '[.status, .away]' <"$BATS_TEST_TMPDIR/out"
	assert_output '["OFFLINE",[{"start":"2026-03-10T13:00:00Z","end":"2026-03-10T18:30:00Z","type":"Out of Office"}]]'
	run member adoe '[.status, .away]' <"$BATS_TEST_TMPDIR/out"
	assert_output '["ONLINE",null]'
	# Back at 18:30: the board no longer lists the entry after it.
	run -0 bash -c "dq-fetch --connectwise --now 2026-03-10T18:45:00Z | jq -c 'select(.id == \"rkhan\") | [.status, .away]'"
	assert_output '["ONLINE",null]'
	# Entered ahead of time: away later, not yet OFFLINE.
	run -0 bash -c "dq-fetch --connectwise --now 2026-03-10T12:00:00Z | jq -c 'select(.id == \"rkhan\") | .status'"
	assert_output '"ONLINE"'
}

@test "the board is read with dateBack after now, with the type and _info; the types are read too" {
	dq-fetch --connectwise --now "$NOW" >/dev/null
	run -0 bash -c "cw_requests | jq -r 'select(.path | endswith(\"system/inOutBoards\")) | .params.conditions, .params.fields'"
	assert_output "dateBack>[2026-03-10T15:00:00Z]
id,member/identifier,inOutType/id,inOutType/name,dateBack,_info"
	run -0 bash -c "cw_requests | jq -r 'select(.path | endswith(\"system/inOutTypes\")) | .params.fields'"
	assert_output "id,description"
}

@test "a Working Remotely entry is no absence" {
	board "$(entry 403 101 adoe 5 "Working Remotely" 2026-03-10T12:00:00Z 2026-03-10T22:00:00Z)" \
		"$(entry 404 102 mdoe 5 "working remotely" 2026-03-10T12:00:00Z 2026-03-10T22:00:00Z)"
	dq-fetch --connectwise --now "$NOW" >"$BATS_TEST_TMPDIR/out"
	run member adoe '[.status, .away]' <"$BATS_TEST_TMPDIR/out"
	assert_output '["ONLINE",null]'
	run member mdoe '[.status, .away]' <"$BATS_TEST_TMPDIR/out"
	assert_output '["ONLINE",null]'
	run -0 bash -c "dq-eligible --mode least-active <'$BATS_TEST_TMPDIR/out' | jq -c 'select(.id == \"5001\") | .eligible.candidates'"
	assert_output '["adoe","mdoe","pnguyen","swright"]'
}

@test "--available-in-out names the types that are no absence, replacing the default list" {
	# Customer Site, its reference without a name: the type's description.
	board "$(entry 405 101 adoe 6 - 2026-03-10T12:00:00Z 2026-03-10T22:00:00Z)" \
		"$(entry 406 102 mdoe 5 "Working Remotely" 2026-03-10T12:00:00Z 2026-03-10T22:00:00Z)"
	dq-fetch --connectwise --now "$NOW" >"$BATS_TEST_TMPDIR/out"
	run member adoe '[.status, .away[0].type]' <"$BATS_TEST_TMPDIR/out"
	assert_output '["OFFLINE","Customer Site"]'
	run member mdoe '.status' <"$BATS_TEST_TMPDIR/out"
	assert_output '"ONLINE"'
	run --separate-stderr dq-fetch --connectwise --now "$NOW" --available-in-out "customer site"
	assert_success
	assert_equal "$stderr" ""
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/out"
	run member adoe '[.status, .away]' <"$BATS_TEST_TMPDIR/out"
	assert_output '["ONLINE",null]'
	run member mdoe '[.status, .away[0].type]' <"$BATS_TEST_TMPDIR/out"
	assert_output '["OFFLINE","Working Remotely"]'
	# A policy key too.
	printf 'available-in-out = Customer Site\navailable-in-out = Working Remotely\n' >"$BATS_TEST_TMPDIR/policy"
	dq-fetch --connectwise --now "$NOW" --policy "$BATS_TEST_TMPDIR/policy" >"$BATS_TEST_TMPDIR/out"
	run -0 bash -c "jq -r 'select(.kind == \"member\" and (.id == \"adoe\" or .id == \"mdoe\")) | .status' <'$BATS_TEST_TMPDIR/out' | paste -sd,"
	assert_output "ONLINE,ONLINE"
}

@test "an --available-in-out type the site lacks is warned about; the default list is not" {
	run --separate-stderr dq-fetch --connectwise --now "$NOW"
	assert_success
	assert_equal "$stderr" ""
	run --separate-stderr dq-fetch --connectwise --now "$NOW" --available-in-out "Remote Work" --available-in-out "Working Remotely"
	assert_success
	assert_equal "$stderr" 'dq-fetch: --available-in-out "Remote Work": no In/Out type of that name'
}

@test "earliest slot: out until 18:30, working until 22:00, booked at 18:40; out all horizon is offline" {
	board "$(doctor)" "$(leave)" "$(training)"
	run -0 bash -c "dq-fetch --connectwise --now $NOW --ticket 5007 |
	    dq-eligible --mode earliest-slot | dq-pick --mode earliest-slot |
	    dq-schedule --buffer-minutes 10 | tee '$BATS_TEST_TMPDIR/in' |
	    dq-apply --commit --now $NOW --journal '$BATS_TEST_TMPDIR/journal'"
	run -0 field 5007 '[.eligible.candidates, .eligible.excluded]' <"$BATS_TEST_TMPDIR/in"
	assert_output '[["rkhan"],[{"why":"offline","ids":["jsmith","lchen"]}]]'
	run -0 field 5007 '[.dispatch.chosen, .dispatch.reason, .slot]' <"$BATS_TEST_TMPDIR/in"
	assert_output '["rkhan","earliest-slot:2026-03-10T18:40:00Z",{"member":"rkhan","start":"2026-03-10T18:40:00Z","end":"2026-03-10T19:10:00Z","buffer_minutes":10}]'
	# ConnectWise holds the owner and the calendar entry.
	run -0 bash -c "cw_curl '$CW_URL/service/tickets/5007' | jq -r .owner.identifier"
	assert_output rkhan
	run -0 bash -c "cw_curl '$CW_URL/schedule/entries?conditions=objectId=5007' | jq -c '[.[] | [.member.identifier, .dateStart, .dateEnd]]'"
	assert_output '[["rkhan","2026-03-10T18:40:00Z","2026-03-10T19:10:00Z"]]'
}

@test "away now, another mode: offline, with --working-now too, until the member is back" {
	board "$(doctor)" "$(leave)" "$(training)"
	for args in "--mode least-active" "--mode least-active --working-now" "--mode round-robin --working-now"; do
		run -0 bash -c "dq-fetch --connectwise --now $NOW --ticket 5007 | dq-eligible $args | jq -c 'select(.kind == \"ticket\") | .eligible | [.candidates, .excluded]'"
		assert_output '[[],[{"why":"offline","ids":["jsmith","lchen","rkhan"]}]]'
	done
	run -0 bash -c "dq-fetch --connectwise --now 2026-03-10T18:45:00Z --ticket 5007 | dq-eligible --mode least-active --working-now | jq -c 'select(.kind == \"ticket\") | .eligible.candidates'"
	assert_output '["rkhan"]'
}

@test "a later absence is busy time for dq-schedule after any mode, buffer included" {
	# rkhan is out from 15:20 (entered at 15:20) to 18:30.
	board "$(entry 407 105 rkhan 1 "Out of Office" 2026-03-10T15:20:00Z 2026-03-10T18:30:00Z)" "$(leave)" "$(training)"
	run -0 bash -c "dq-fetch --connectwise --now $NOW --ticket 5007 |
	    dq-eligible --mode least-active | dq-pick --mode least-active |
	    dq-schedule --buffer-minutes 10 | jq -c 'select(.kind == \"ticket\") | [.dispatch.chosen, .slot.start]'"
	# 15:10 to 15:40 would run into the absence: after it, and the buffer.
	assert_output '["rkhan","2026-03-10T18:40:00Z"]'
	run -0 bash -c "dq-fetch --connectwise --now $NOW --ticket 5007 |
	    dq-eligible --mode least-active | dq-pick --mode least-active |
	    dq-schedule --buffer-minutes 0 --slot-minutes 10 | jq -c 'select(.kind == \"ticket\") | .slot.start'"
	assert_output '"2026-03-10T15:10:00Z"'
}
