#!/usr/bin/env bats
# dq-fetch --connectwise against the ConnectWise emulator (cw-emulator.py):
# field mapping, the requests made, paging, parallelism, faults, settings
# and secrets. One emulator serves the file; setup() resets it.

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
	export -f cw_requests cw_control
	# Retries back off for a millisecond, so fault tests stay fast.
	export DQ_CW_BACKOFF_MS=1
	F=$FIXTURES/fetch
}

teardown() {
	if [[ -n ${OWN_CW:-} ]]; then
		cw_stop
	fi
}

fetch() {
	dq-fetch --connectwise --now "$NOW" "$@"
}

# The stream of a full fetch: the run line by its shape (its id hashes the
# settings, which grow with every option), the rest byte for byte.
assert_stream() {
	assert_regex "${lines[0]}" '^\{"kind":"run","id":"dq-20260310T150000Z-[0-9a-f]{8}","now":"2026-03-10T15:00:00Z"\}$'
	assert_equal "$(printf '%s\n' "${lines[@]:1}")" "$(sed 1d "$F/cw.expected")"
}

# One field of the record of KIND with ID, from the stream on stdin.
rec() {
	jq -c --arg k "$1" --arg id "$2" "select(.kind == \$k and .id == \$id) | $3"
}

# The decoded query parameter P of the requests whose path ends in PATH.
requests_to() {
	cw_requests | jq -r --arg p "$1" --arg q "$2" \
		'select(.path | endswith($p)) | .params[$q] // "-"'
}

@test "a full fetch matches the expected stream" {
	run --separate-stderr fetch
	assert_success
	assert_equal "$stderr" ""
	assert_stream
}

@test "the run record comes first and its id is stable for one --now" {
	a=$(fetch | head -n1)
	b=$(fetch | head -n1)
	assert_equal "$a" "$b"
	[[ $a == '{"kind":"run","id":"dq-20260310T150000Z-'????????'","now":"2026-03-10T15:00:00Z"}' ]]
}

@test "members: identifier, name, teams, archived, open counts, created_at, psa" {
	fetch >"$BATS_TEST_TMPDIR/out"
	run rec member adoe '[.name, .teams, .status, .archived, .open, .created_at, .psa]' <"$BATS_TEST_TMPDIR/out"
	assert_output '["Alice Doe",["31"],"ONLINE",false,{"Assigned":1,"Waiting on Customer":1},"2021-06-01T00:00:00Z",{"id":101}]'
	run rec member kbrown '.archived' <"$BATS_TEST_TMPDIR/out"
	assert_output 'true'
	run rec member jsmith '.teams' <"$BATS_TEST_TMPDIR/out"
	assert_output '["32","41","51"]'
}

@test "members: the In/Out board makes a member OFFLINE until dateBack" {
	fetch >"$BATS_TEST_TMPDIR/out"
	run rec member pnguyen .status <"$BATS_TEST_TMPDIR/out"
	assert_output '"OFFLINE"'
	# mdoe was back on 2026-03-09.
	run rec member mdoe .status <"$BATS_TEST_TMPDIR/out"
	assert_output '"ONLINE"'
	fetch --now 2026-03-14T00:00:00Z >"$BATS_TEST_TMPDIR/out"
	run rec member pnguyen .status <"$BATS_TEST_TMPDIR/out"
	assert_output '"ONLINE"'
}

@test "members: time zones map to IANA zones" {
	fetch >"$BATS_TEST_TMPDIR/out"
	run bash -c "jq -r 'select(.kind == \"member\") | .id + \" \" + .tz' <'$BATS_TEST_TMPDIR/out' | paste -sd,"
	assert_output "adoe America/New_York,ezhao America/New_York,jsmith America/Chicago,kbrown America/Chicago,lchen Australia/Brisbane,mdoe America/New_York,pnguyen America/Los_Angeles,rkhan Europe/London,swright America/New_York,tgarcia America/New_York"
}

# A site names its setups as it likes; the Windows zone id behind the
# name is what says the zone. rkhan's setup renamed "GMT+0/London".
london_setup() {
	cw_control POST data '{"path": "system/timeZoneSetups/4", "merge": {"name": "GMT+0/London"}}' >/dev/null
	cw_control POST data '{"path": "system/members/105", "merge": {"timeZone": {"id": 4, "name": "GMT+0/London"}}}' >/dev/null
}

@test "members: a zone comes from the setup's Windows zone id, whatever the setup's name" {
	london_setup
	run --separate-stderr fetch
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(rec member rkhan .tz <<<"$output")" '"Europe/London"'
	assert_equal "$(requests_to system/timeZoneSetups fields)" "id,name,timeZone/name,offset"
	assert_equal "$(requests_to system/members fields)" "id,identifier,firstName,lastName,inactiveFlag,hireDate,timeZone/id,timeZone/name,calendar/id"
}

# Whether rkhan may take ticket 5008 (Projects: rkhan, ezhao, jsmith) at
# $1 under --working-now: "in", or the reason he may not.
rkhan_at() {
	dq-fetch --connectwise --now "$1" | dq-eligible --working-now --now "$1" |
		jq -r 'select(.id == "5008") | .eligible |
			if (.candidates | index("rkhan")) then "in"
			else (.excluded[] | select(.ids // [.id] | index("rkhan")) | .why) end'
}

@test "members: London hours keep daylight saving: 09:00-17:00 is 08:00-16:00 UTC in July, 09:00-17:00 UTC in January" {
	london_setup
	cw_control POST data '{"path": "schedule/calendars/4", "merge": {"mondayEndTime": "17:00:00", "tuesdayEndTime": "17:00:00"}}' >/dev/null
	# Tuesdays, both.
	assert_equal "$(rkhan_at 2026-07-14T07:59:00Z)" outside-hours
	assert_equal "$(rkhan_at 2026-07-14T08:00:00Z)" in
	assert_equal "$(rkhan_at 2026-07-14T15:59:00Z)" in
	assert_equal "$(rkhan_at 2026-07-14T16:00:00Z)" outside-hours
	assert_equal "$(rkhan_at 2026-01-13T08:59:00Z)" outside-hours
	assert_equal "$(rkhan_at 2026-01-13T09:00:00Z)" in
	assert_equal "$(rkhan_at 2026-01-13T16:59:00Z)" in
	assert_equal "$(rkhan_at 2026-01-13T17:00:00Z)" outside-hours
}

@test "members: --zone-map overrides a setup by its name or its Windows zone id" {
	london_setup
	printf '# mine\nAmerica/Detroit GMT-5/Eastern Time: US & Canada\nEurope/Dublin  gmt standard time\n' >"$BATS_TEST_TMPDIR/zones"
	run --separate-stderr fetch --zone-map "$BATS_TEST_TMPDIR/zones"
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(rec member adoe .tz <<<"$output")" '"America/Detroit"'
	assert_equal "$(rec member rkhan .tz <<<"$output")" '"Europe/Dublin"'
	# The setup's name is the more particular, so it wins over its id.
	printf 'Europe/Dublin GMT Standard Time\nEurope/Lisbon GMT+0/London\n' >"$BATS_TEST_TMPDIR/zones"
	assert_equal "$(fetch --zone-map "$BATS_TEST_TMPDIR/zones" | rec member rkhan .tz)" '"Europe/Lisbon"'
	printf 'Not/AZone Something\n' >"$BATS_TEST_TMPDIR/zones"
	run -78 fetch --zone-map "$BATS_TEST_TMPDIR/zones"
	assert_output --partial "zones: line 1: expected an IANA zone and a ConnectWise time zone name"
}

@test "members: a setup whose Windows zone id CLDR does not know is warned once, naming it, and falls back to its offset" {
	cw_control POST data '{"path": "system/timeZoneSetups/2", "merge": {"name": "GMT+3/Somewhere New", "timeZone": {"id": 99, "name": "Somewhere Standard Time"}, "offset": 3.0}}' >/dev/null
	run --separate-stderr fetch
	assert_success
	# jsmith and kbrown share the setup: one warning.
	assert_equal "$stderr" 'dq-fetch: time zone setup "GMT+3/Somewhere New": Windows zone "Somewhere Standard Time" is not in CLDR'"'"'s table; using the fixed offset Etc/GMT-3 (no daylight saving); map it with --zone-map'
	assert_equal "$(rec member jsmith .tz <<<"$output")" '"Etc/GMT-3"'
	assert_equal "$(rec member kbrown .tz <<<"$output")" '"Etc/GMT-3"'
	# Half an hour has no Etc zone: no tz at all.
	cw_control POST data '{"path": "system/timeZoneSetups/2", "merge": {"offset": 5.5}}' >/dev/null
	run --separate-stderr fetch
	assert_success
	assert_equal "$stderr" 'dq-fetch: time zone setup "GMT+3/Somewhere New": Windows zone "Somewhere Standard Time" is not in CLDR'"'"'s table; member left without "tz"; map it with --zone-map'
	assert_equal "$(rec member jsmith .tz <<<"$output")" 'null'
	# --zone-map settles it.
	printf 'Asia/Qatar Somewhere Standard Time\n' >"$BATS_TEST_TMPDIR/zones"
	run --separate-stderr fetch --zone-map "$BATS_TEST_TMPDIR/zones"
	assert_equal "$stderr" ""
	assert_equal "$(rec member jsmith .tz <<<"$output")" '"Asia/Qatar"'
}

@test "members: a setup missing from /system/timeZoneSetups is warned, naming it" {
	cw_control POST data '{"path": "system/members/101", "merge": {"timeZone": {"id": 9, "name": "GMT+3/Somewhere New"}}}' >/dev/null
	run --separate-stderr fetch
	assert_success
	assert_equal "$stderr" 'dq-fetch: time zone setup "GMT+3/Somewhere New": not among /system/timeZoneSetups; member left without "tz"; map it with --zone-map'
	assert_equal "$(rec member adoe .tz <<<"$output")" 'null'
}

@test "members: calendar hours per weekday, the company default without one" {
	fetch >"$BATS_TEST_TMPDIR/out"
	run rec member tgarcia .hours <"$BATS_TEST_TMPDIR/out"
	assert_output '{"thu":["09:00","18:00"],"fri":["09:00","18:00"],"sat":["09:00","18:00"],"sun":["10:00","16:00"]}'
	# swright has no calendar: Standard Office Hours, the default.
	run rec member swright '.hours.mon' <"$BATS_TEST_TMPDIR/out"
	assert_output '["08:00","17:00"]'
}

@test "members: holidays from the calendar's list, whole and part days" {
	fetch >"$BATS_TEST_TMPDIR/out"
	run rec member adoe '.holidays[0:2]' <"$BATS_TEST_TMPDIR/out"
	assert_output '[{"date":"2026-03-13","start":"13:00","end":"17:00"},"2026-05-25"]'
	run rec member rkhan '.holidays[0]' <"$BATS_TEST_TMPDIR/out"
	assert_output '"2026-04-03"'
}

@test "teams: id is the number, members by identifier, default, boards" {
	fetch >"$BATS_TEST_TMPDIR/out"
	run rec team 31 . <"$BATS_TEST_TMPDIR/out"
	assert_output '{"kind":"team","id":"31","name":"Tier 1","boards":["Help Desk"],"members":["adoe","mdoe","pnguyen","swright","kbrown"],"default":true,"psa":{"id":31,"board":1}}'
}

@test "boards: statuses with closed flags, numeric ids in psa" {
	fetch >"$BATS_TEST_TMPDIR/out"
	run rec board 2 . <"$BATS_TEST_TMPDIR/out"
	assert_output '{"kind":"board","id":"2","name":"Projects","statuses":[{"name":"New","closed":false},{"name":"Assigned","closed":false},{"name":"In Progress","closed":false},{"name":"Waiting on Customer","closed":false},{"name":"Closed","closed":true}],"psa":{"id":2,"statuses":{"New":11,"Assigned":12,"In Progress":13,"Waiting on Customer":14,"Closed":15}}}'
}

@test "members: a calendar day ending at 00:00 ends at midnight" {
	cw_control POST data '{"path": "schedule/calendars/3", "merge": {"sundayEndTime": "00:00:00"}}' >/dev/null
	fetch >"$BATS_TEST_TMPDIR/out"
	run rec member tgarcia .hours.sun <"$BATS_TEST_TMPDIR/out"
	assert_output '["10:00","24:00"]'
}

@test "tickets: every field, labels from type, subtype and item" {
	cw_control POST data '{"path": "service/tickets/5003", "merge": {"subType": {"id": 1, "name": "Laptop"}, "item": {"id": 2, "name": "Dell XPS"}}}' >/dev/null
	fetch >"$BATS_TEST_TMPDIR/out"
	run rec ticket 5003 . <"$BATS_TEST_TMPDIR/out"
	assert_output '{"kind":"ticket","id":"5003","summary":"New laptop for Sarah Jones (starts Monday)","board":"Help Desk","status":"New","company":"Initech","priority":"Priority 3 - Normal","labels":["service request","laptop","dell xps"],"type":"Service Request","subtype":"Laptop","item":"Dell XPS","owner":null,"team":"31","entered_at":"2026-03-10T14:10:00Z","updated_at":"2026-03-10T14:10:00Z","psa":{"id":5003,"board":1,"status":1,"company":203,"priority":3,"team":31}}'
	run rec ticket 5010 '[.owner, .psa.owner]' <"$BATS_TEST_TMPDIR/out"
	assert_output '["adoe",101]'
}

@test "tickets: sorted by entered_at then id, after all context" {
	fetch >"$BATS_TEST_TMPDIR/out"
	run bash -c "jq -r 'select(.kind == \"ticket\") | .entered_at' <'$BATS_TEST_TMPDIR/out' | sort -c"
	assert_success
	run bash -c "jq -r .kind <'$BATS_TEST_TMPDIR/out' | uniq | paste -sd,"
	assert_output "run,board,entry,history,member,team,ticket"
}

@test "entries: the scheduling window, ticket from objectId" {
	fetch >"$BATS_TEST_TMPDIR/out"
	run rec entry 9001 . <"$BATS_TEST_TMPDIR/out"
	assert_output '{"kind":"entry","id":"9001","member":"adoe","start":"2026-03-10T14:00:00Z","end":"2026-03-10T15:00:00Z","ticket":"5010","acknowledged":false,"psa":{"id":9001,"type":"S"}}'
	run requests_to schedule/entries conditions
	assert_output "dateEnd>[2026-03-09T15:00:00Z] and dateStart<[2026-03-12T15:00:00Z]"
	cw_reset
	fetch --horizon-hours 48 >/dev/null
	run requests_to schedule/entries conditions
	assert_output "dateEnd>[2026-03-09T15:00:00Z] and dateStart<[2026-03-13T15:00:00Z]"
}

@test "history: closed tickets of the last 30 days with an owner" {
	fetch >"$BATS_TEST_TMPDIR/out"
	run rec history 5030 . <"$BATS_TEST_TMPDIR/out"
	assert_output '{"kind":"history","id":"5030","ticket":"5030","owner":"adoe","board":"Help Desk","company":"Acme Corporation","type":"Incident","subtype":null,"item":null,"summary":"Password reset for jane.roe","closed_at":"2026-03-02T14:30:00Z","hours":2}'
	# 5036 was cancelled without an owner: no one to credit.
	run rec history 5036 . <"$BATS_TEST_TMPDIR/out"
	assert_output ""
	run requests_to service/tickets conditions
	assert_line "closedFlag=true and closedDate>[2026-02-08T15:00:00Z]"
}

@test "--history-days 0 skips history; N moves its start" {
	run fetch --history-days 0
	assert_success
	refute_output --partial '"kind":"history"'
	run requests_to service/tickets conditions
	refute_output --partial "closedFlag=true"
	cw_reset
	fetch --history-days 3 >/dev/null
	run requests_to service/tickets conditions
	assert_line "closedFlag=true and closedDate>[2026-03-07T15:00:00Z]"
}

@test "--board and --trigger-status become quoted conditions" {
	run fetch --board "Help Desk" --trigger-status New --trigger-status 'Say "hi" [now]'
	assert_success
	assert_equal "$(tickets <<<"$output" | jq -r .id | paste -sd,)" "5006,5005,5001,5002,5003,5004"
	run requests_to service/tickets conditions
	assert_line 'closedFlag=false and board/name in ("Help Desk") and status/name in ("New","Say \"hi\" [[]now]")'
	run requests_to service/boards conditions
	assert_output 'inactiveFlag=false and name in ("Help Desk")'
}

@test "a --board that matches no board is a warning" {
	run --separate-stderr fetch --board "Help Desk" --board Nowhere
	assert_success
	assert_equal "$stderr" 'dq-fetch: board "Nowhere": no active board of that name'
}

@test "--ticket fetches just those tickets" {
	run fetch --ticket 5001 --ticket 5030
	assert_success
	assert_equal "$(tickets <<<"$output" | jq -r .id | paste -sd,)" "5030,5001"
	run bash -c "cw_requests | jq -r 'select(.path | endswith(\"service/tickets\")) | .params.conditions' | grep '^id in'"
	assert_output "id in (5001,5030)"
	run -64 fetch --ticket abc
	assert_output "dq-fetch: --ticket: expected a ticket number, not \"abc\"
Try 'dq-fetch --help' for more information."
}

@test "open tickets are counted in one query for all team members" {
	fetch >/dev/null
	run bash -c "cw_requests | jq -r 'select(.params.conditions // \"\" | contains(\"owner/id\")) | .params.conditions'"
	assert_output "closedFlag=false and owner/id in (101,102,103,104,105,106,107,108,109,110)"
}

@test "every request: Basic auth, clientId, pinned version, fields and pageSize 1000" {
	fetch >/dev/null
	run bash -c "cw_requests | jq -r '[.method, .auth, .client_id, .accept_version] | join(\" \")' | sort -u"
	assert_output "GET ok ok 2026.4"
	run bash -c "cw_requests | jq -r 'select(.params.page) | [.params.pageSize, (.params.fields | length > 0)] | join(\" \")' | sort -u"
	assert_output "1000 true"
	run bash -c "cw_requests | wc -l"
	assert_output 19
}

@test "requests run in parallel; --parallel 1 runs them one at a time" {
	cw_fault latency:50 >/dev/null
	fetch >/dev/null
	max=$(cw_control GET requests | jq .max_in_flight)
	((max > 1))
	cw_reset
	cw_fault latency:20 >/dev/null
	fetch --parallel 1 >/dev/null
	run bash -c "cw_control GET requests | jq .max_in_flight"
	assert_output 1
}

@test "paging: the Link header's last page, the rest fetched side by side" {
	OWN_CW=1
	python3 "$BATS_TEST_DIRNAME/cw-bulk.py" "$FIXTURES/cw-data.json" \
		"$BATS_TEST_TMPDIR/bulk.json" --open 2500
	CW_DATA=$BATS_TEST_TMPDIR/bulk.json cw_start --now "$NOW" --latency-ms 30
	run fetch --history-days 0
	assert_success
	assert_equal "$(tickets <<<"$output" | wc -l)" 2522
	assert_equal "$(tickets <<<"$output" | jq -r .id | sort -u | wc -l)" 2522
	run bash -c "cw_requests | jq -r 'select(.path | endswith(\"service/tickets\")) | select(.params.conditions == \"closedFlag=false\") | .params.page + \" \" + (.items | tostring)' | sort"
	assert_output "$(printf '1 1000\n2 1000\n3 522')"
	# Pages 2 and 3 overlapped.
	run bash -c "cw_requests | jq -s '[.[] | select(.params.page == \"2\" or .params.page == \"3\") | select(.params.conditions == \"closedFlag=false\")] | (.[0].end_ms > .[1].start_ms and .[1].end_ms > .[0].start_ms)'"
	assert_output true
}

@test "429: waits for Retry-After, then succeeds" {
	cw_control POST fault '{"status": 429, "path": "service/boards$", "count": 1, "retry_after": 1}' >/dev/null
	start=$SECONDS
	run --separate-stderr fetch
	assert_success
	assert_stream
	run bash -c "cw_requests | jq -r 'select(.path | endswith(\"service/boards\")) | .status' | paste -sd,"
	assert_output "429,200"
	((SECONDS - start >= 1))
}

@test "500: backs off, then succeeds" {
	cw_fault '500:service/tickets$:2' >/dev/null
	run --separate-stderr fetch
	assert_success
	assert_stream
	run bash -c "cw_requests | jq -r 'select(.status == 500) | .path' | wc -l"
	assert_output 2
}

@test "a dropped connection is retried" {
	cw_fault 'reset:system/members$:1' >/dev/null
	run --separate-stderr fetch
	assert_success
	assert_stream
}

@test "500 forever: exit 75 after the retries, nothing written" {
	cw_fault '500:schedule/calendars$' >/dev/null
	run --separate-stderr fetch
	assert_failure 75
	assert_output ""
	assert_equal "$stderr" "dq-fetch: GET /schedule/calendars: 500 ConnectWiseApi: An error occurred, please try again later. (gave up after 6 attempts)"
	run bash -c "cw_requests | jq -r 'select(.path | endswith(\"schedule/calendars\")) | .status' | wc -l"
	assert_output 6
}

@test "--retries 0 gives up on the first 503; --retries 2 (or the policy key) tries three times" {
	cw_fault '503:schedule/calendars$' >/dev/null
	run --separate-stderr fetch --retries 0
	assert_failure 75
	assert_output ""
	assert_equal "$stderr" "dq-fetch: GET /schedule/calendars: 503 ConnectWiseApi: Service Unavailable (gave up after 1 attempt)"
	run bash -c "cw_requests | jq -r 'select(.path | endswith(\"schedule/calendars\")) | .status'"
	assert_output 503
	cw_control POST reset-log >/dev/null
	printf 'retries = 2\n' > "$BATS_TEST_TMPDIR/policy"
	run --separate-stderr fetch -p "$BATS_TEST_TMPDIR/policy"
	assert_failure 75
	assert_equal "$stderr" "dq-fetch: GET /schedule/calendars: 503 ConnectWiseApi: Service Unavailable (gave up after 3 attempts)"
	run bash -c "cw_requests | jq -r 'select(.path | endswith(\"schedule/calendars\")) | .status' | wc -l"
	assert_output 3
}

@test "a stalled reply hits --max-time: exit 75 naming the timeout" {
	cw_fault 'stall:schedule/calendars$' >/dev/null
	run --separate-stderr fetch --max-time 1 --retries 0
	cw_control DELETE fault >/dev/null
	assert_failure 75
	assert_output ""
	assert_regex "$stderr" '^dq-fetch: GET /schedule/calendars: Operation timed out after [0-9]+ milliseconds.* \(gave up after 1 attempt\)$'
}

@test "HTTP knobs are bounded like every number" {
	run --separate-stderr fetch --connect-timeout 0
	assert_failure 64
	assert_equal "${stderr_lines[0]}" 'dq-fetch: --connect-timeout: expected a whole number from 1 to 600, not "0"'
	run --separate-stderr fetch --retries 21
	assert_failure 64
	run --separate-stderr fetch --max-time soon
	assert_failure 64
}

@test "401: exit 69 at once, no retry" {
	run --separate-stderr env DQ_CW_PRIVATE_KEY=wrong dq-fetch --connectwise --now "$NOW"
	assert_failure 69
	assert_output ""
	assert_regex "$stderr" '^dq-fetch: GET /[a-zA-Z/]+: 401 ConnectWiseApi: UserNotAuthenticated$'
	run bash -c "cw_requests | jq -r .auth | sort | uniq -c | awk '{print \$2}'"
	assert_output "bad"
	# The first requests only, none of them twice: a refusal is final.
	# Nine go out first; --parallel's 8 are in flight when the first
	# refusal ends the run.
	run bash -c "cw_requests | jq -r '.path + .query' | sort | uniq -d"
	assert_output ""
	run bash -c "cw_requests | wc -l"
	assert_output 8
}

@test "403 and 404 are exit 69" {
	cw_fault '403:service/boards$:1' >/dev/null
	run -69 fetch
	cw_reset
	cw_fault '404:system/myCompany/other$:1' >/dev/null
	run -69 fetch
}

@test "400: the ConnectWise error body is reported, exit 69" {
	cw_control POST fault '{"status": 400, "path": "system/inOutBoards$", "count": 1, "body": {"code": "InvalidObject", "message": "inOutBoard object is invalid", "errors": [{"code": "InvalidField", "message": "dateBack is not a valid date", "resource": "inOutBoard", "field": "dateBack"}]}}' >/dev/null
	run --separate-stderr fetch
	assert_failure 69
	assert_equal "$stderr" "dq-fetch: GET /system/inOutBoards: 400 InvalidObject: inOutBoard object is invalid (dateBack: dateBack is not a valid date)"
	run bash -c "cw_requests | jq -r 'select(.path | endswith(\"inOutBoards\")) | .status'"
	assert_output 400
}

@test "a progress line on a terminal only, cleared at the end" {
	need_pty
	run script -qec "dq-fetch --connectwise --now $NOW >/dev/null" /dev/null
	assert_success
	assert_output --partial "dq-fetch: 19/19 requests"
	[[ $output == *$'\r'"$(printf '%40s' '')"$'\r' ]]
}

@test "--verbose logs method, path, status and time, never a secret" {
	run --separate-stderr fetch --verbose
	assert_success
	assert_regex "$stderr" 'dq-fetch: GET /service/boards\?conditions=inactiveFlag=false&fields=id,name&orderBy=id asc&pageSize=1000&page=1: 200 \([0-9]+ ms\)'
	assert_equal "$(grep -c '^dq-fetch: GET /' <<<"$stderr")" 19
}

@test "secrets never reach stdout or stderr" {
	auth=$(printf '%s' "$DQ_CW_COMPANY+$DQ_CW_PUBLIC_KEY:$DQ_CW_PRIVATE_KEY" | base64)
	for args in "--verbose" "--verbose --ticket 1"; do
		run fetch $args
		refute_output --partial "$DQ_CW_PRIVATE_KEY"
		refute_output --partial "$auth"
	done
	cw_fault '500:service/tickets$' >/dev/null
	run fetch --verbose
	assert_failure 75
	refute_output --partial "$DQ_CW_PRIVATE_KEY"
	refute_output --partial "$auth"
	run env DQ_CW_PRIVATE_KEY=wrong-secret-key dq-fetch --connectwise --verbose
	refute_output --partial "wrong-secret-key"
}

@test "credentials file: 0600 accepted, 0644 refused with exit 78" {
	creds=$BATS_TEST_TMPDIR/creds
	cat >"$creds" <<-EOF
	# ConnectWise API member dq
	cw-url = $DQ_CW_URL
	cw-company = $DQ_CW_COMPANY
	cw-public-key = "$DQ_CW_PUBLIC_KEY"
	cw-private-key = "$DQ_CW_PRIVATE_KEY"
	cw-client-id = $DQ_CW_CLIENT_ID
	EOF
	chmod 644 "$creds"
	run --separate-stderr env -u DQ_CW_URL -u DQ_CW_COMPANY -u DQ_CW_PUBLIC_KEY \
		-u DQ_CW_PRIVATE_KEY -u DQ_CW_CLIENT_ID \
		dq-fetch --connectwise --now "$NOW" --credentials "$creds"
	assert_failure 78
	assert_equal "$stderr" "dq-fetch: $creds: credentials file is open to other users (mode 0644); chmod 600 it"
	chmod 600 "$creds"
	run --separate-stderr env -u DQ_CW_URL -u DQ_CW_COMPANY -u DQ_CW_PUBLIC_KEY \
		-u DQ_CW_PRIVATE_KEY -u DQ_CW_CLIENT_ID \
		dq-fetch --connectwise --now "$NOW" --credentials "$creds"
	assert_success
	assert_stream
	run --separate-stderr env -u DQ_CW_PRIVATE_KEY DQ_CW_CREDENTIALS="$creds" \
		dq-fetch --connectwise --now "$NOW"
	assert_success
}

@test "credentials file: the file wins over the environment" {
	creds=$BATS_TEST_TMPDIR/creds
	printf 'cw-private-key = from-the-file\n' >"$creds"
	chmod 600 "$creds"
	run -69 fetch --credentials "$creds"
	run bash -c "cw_requests | jq -r .auth | sort -u"
	assert_output bad
}

# The emulator's credentials as a file, at $1.
creds_file() {
	mkdir -p "$(dirname "$1")"
	printf 'cw-url = %s\ncw-company = %s\ncw-public-key = %s\ncw-private-key = %s\ncw-client-id = %s\n' \
	    "$DQ_CW_URL" "$DQ_CW_COMPANY" "$DQ_CW_PUBLIC_KEY" \
	    "$DQ_CW_PRIVATE_KEY" "$DQ_CW_CLIENT_ID" > "$1"
	chmod 600 "$1"
}

no_cw_env() {
	env -u DQ_CW_URL -u DQ_CW_COMPANY -u DQ_CW_PUBLIC_KEY \
	    -u DQ_CW_PRIVATE_KEY -u DQ_CW_CLIENT_ID "$@"
}

@test "credentials are found in \$XDG_CONFIG_HOME/dq/connectwise, else ~/.config/dq/connectwise" {
	creds_file "$XDG_CONFIG_HOME/dq/connectwise"
	run -0 no_cw_env dq-fetch --connectwise --now "$NOW"
	assert_line --partial '"kind":"ticket"'
	mv "$XDG_CONFIG_HOME/dq/connectwise" "$BATS_TEST_TMPDIR/creds"
	mkdir -p "$BATS_TEST_TMPDIR/home/.config/dq"
	mv "$BATS_TEST_TMPDIR/creds" "$BATS_TEST_TMPDIR/home/.config/dq/connectwise"
	run -0 no_cw_env XDG_CONFIG_HOME= HOME="$BATS_TEST_TMPDIR/home" \
	    dq-fetch --connectwise --now "$NOW"
	assert_line --partial '"kind":"ticket"'
	# Nothing in either place, nothing in the environment.
	run -78 no_cw_env dq-fetch --connectwise --now "$NOW"
}

@test "credentials: the environment wins over a file found by default, not over one named" {
	creds_file "$XDG_CONFIG_HOME/dq/connectwise"
	sed -i 's/^cw-private-key = .*/cw-private-key = from-the-file/' \
	    "$XDG_CONFIG_HOME/dq/connectwise"
	run -0 fetch
	DQ_CW_CREDENTIALS=$XDG_CONFIG_HOME/dq/connectwise run -69 fetch
	run bash -c "cw_requests | jq -r .auth | sort -u"
	assert_output --partial bad
}

@test "credentials found by default must be private too: exit 78" {
	creds_file "$XDG_CONFIG_HOME/dq/connectwise"
	chmod 644 "$XDG_CONFIG_HOME/dq/connectwise"
	run -78 fetch
	assert_output --partial "$XDG_CONFIG_HOME/dq/connectwise: credentials file is open to other users"
}

@test "credentials file: an unknown key is reported by line, neither it nor its value quoted" {
	creds=$BATS_TEST_TMPDIR/creds
	printf 'cw-privat-key = s3cr3t-value\n' >"$creds"
	chmod 600 "$creds"
	run -78 fetch --credentials "$creds"
	assert_output "dq-fetch: $creds: line 1: unknown key; did you mean \"cw-private-key\"?"
	# A line holding only a pasted key: nothing of it is echoed.
	printf 'cw-url = %s\nQk9HVVNrZXkxMjM0NTY3ODkwYWJjZGVm\n' "$DQ_CW_URL" >"$creds"
	run -78 fetch --credentials "$creds"
	refute_output --partial Qk9H
	assert_output --regexp "^dq-fetch: $creds: line 2: unknown key; expected "
	run -66 fetch --credentials "$BATS_TEST_TMPDIR/none"
}

@test "a missing credential is exit 78 naming where to set it" {
	run --separate-stderr env -u DQ_CW_CLIENT_ID dq-fetch --connectwise
	assert_failure 78
	assert_equal "$stderr" "dq-fetch: no ConnectWise client id: set DQ_CW_CLIENT_ID or cw-client-id in a credentials file"
}

@test "site URL: not a URL is exit 78" {
	run --separate-stderr env DQ_CW_URL=not-a-url dq-fetch --connectwise
	assert_failure 78
	assert_equal "$stderr" "dq-fetch: ConnectWise site URL: not a URL; expected https://HOST/CODEBASE/apis/3.0"
	run -78 env DQ_CW_URL="https://user:pw@example.com/v4_6_release/apis/3.0" dq-fetch --connectwise
	assert_output "dq-fetch: ConnectWise site URL: must not carry credentials"
}

@test "site URL: http:// to a non-loopback host is refused" {
	run --separate-stderr env DQ_CW_URL=http://api-na.myconnectwise.net/v4_6_release/apis/3.0 dq-fetch --connectwise
	assert_failure 78
	assert_equal "$stderr" "dq-fetch: ConnectWise site URL: http:// to api-na.myconnectwise.net refused; use https (plain http only to a loopback address)"
	run -78 env DQ_CW_URL=ftp://127.0.0.1/x dq-fetch --connectwise
	run bash -c "cw_requests | wc -l"
	assert_output 0
}

@test "site URL: loopback is an address in 127.0.0.0/8 or ::1, or localhost; never a name that looks like one" {
	for host in 127.attacker.example 127.0.0.1.nip.io localhost.attacker.example; do
		run --separate-stderr env DQ_CW_URL="http://$host/v4_6_release/apis/3.0" dq-fetch --connectwise
		assert_failure 78
		assert_equal "$stderr" "dq-fetch: ConnectWise site URL: http:// to $host refused; use https (plain http only to a loopback address)"
	done
	# Accepted: the run goes as far as connecting (nobody listens there).
	for host in 127.0.0.1 127.8.9.10 '[::1]' localhost; do
		run --separate-stderr env DQ_CW_BACKOFF_MS=1 DQ_CW_URL="http://$host:9/v4_6_release/apis/3.0" dq-fetch --connectwise
		assert_failure 75
		[[ $stderr != *refused* ]]
	done
	# A member's webhook is held to the same rule.
	printf '%s\n' '{"kind":"member","id":"victor","webhook":"http://127.attacker.example/hook"}' \
		'{"kind":"ticket","id":"1","dispatch":{"outcome":"assigned","chosen":"victor"}}' \
		>"$BATS_TEST_TMPDIR/agents"
	run --separate-stderr dq-apply --target webhook "$BATS_TEST_TMPDIR/agents"
	assert_failure 65
	[[ $stderr == *"member victor: webhook http:// to 127.attacker.example refused"* ]]
}

@test "site URL: a host that does not resolve is temporary, exit 75 after the retries" {
	run --separate-stderr env DQ_CW_URL=https://cw.invalid/v4_6_release/apis/3.0 dq-fetch --connectwise --retries 1
	assert_failure 75
	assert_regex "$stderr" '^dq-fetch: GET /[a-zA-Z/]+: .*(resolve|Resolv).*cw\.invalid.* \(gave up after 2 attempts\)$'
}

@test "site URL: a wrong codebase is a 404, exit 69" {
	run --separate-stderr env DQ_CW_URL="${DQ_CW_URL/v4_6_release/v2099_1}" dq-fetch --connectwise
	assert_failure 69
	assert_regex "$stderr" ': 404 '
}

@test "TLS: a failed handshake is exit 69, never retried in the clear" {
	run --separate-stderr env DQ_CW_URL="${DQ_CW_URL/http:/https:}" dq-fetch --connectwise
	assert_failure 69
	run bash -c "cw_requests | wc -l"
	assert_output 0
}

@test "--journal also fetches the open tickets dq assigned" {
	j=$BATS_TEST_TMPDIR/journal
	cat >"$j" <<-'EOF'
	{"kind":"journal","phase":"outcome","run":"r1","seq":1,"commit":true,"record":{"kind":"ticket","id":"5014","dispatch":{"outcome":"assigned"},"applied":{"outcome":"applied"}}}
	{"kind":"journal","phase":"outcome","run":"r1","seq":2,"commit":false,"record":{"kind":"ticket","id":"5011","dispatch":{"outcome":"assigned"},"applied":{"outcome":"dry-run"}}}
	{"kind":"journal","phase":"outcome","run":"r1","seq":3,"commit":true,"record":{"kind":"ticket","id":"5030","dispatch":{"outcome":"team"},"applied":{"outcome":"unchanged"}}}
	{"kind":"journal","phase":"outcome","run":"r1","seq":4,"commit":true,"record":{"kind":"ticket","id":"5012","dispatch":{"outcome":"skipped"},"applied":{"outcome":"unchanged"}}}
	{"kind":"journal","phase":"outc
	EOF
	printf '%s' "$(cat "$j")" >"$j"
	run --separate-stderr fetch --board Escalations --trigger-status New --journal "$j" --journal "$BATS_TEST_TMPDIR/rotated"
	assert_success
	assert_equal "$stderr" "dq-fetch: $j: line 5: torn last line skipped"
	# 5007 by the trigger; 5014 from the journal; 5030 is closed; 5012
	# was skipped, not dispatched.
	assert_equal "$(tickets <<<"$output" | jq -r .id | paste -sd,)" "5014,5007"
	run requests_to service/tickets conditions
	assert_line "closedFlag=false and id in (5014,5030)"
}

# Serves JSON as the reply to GETs of paths matching REGEX (cw-emulator's
# 200 fault), for replies of a shape the real data never has.
serve_reply() {
	cw_control POST fault "$(jq -cn --arg p "$1" --argjson b "$2" \
		'{status: 200, path: $p, body: $b}')" >/dev/null
}

@test "a team's members null or absent is a team without members" {
	serve_reply 'service/boards/1/teams$' '[{"id":31,"name":"Tier 1","members":null,"defaultFlag":true},{"id":32,"name":"Tier 2"}]'
	run --separate-stderr fetch
	assert_success
	assert_equal "$(rec team 31 .members <<<"$output")" "[]"
	assert_equal "$(rec team 32 .members <<<"$output")" "[]"
	assert_equal "$(rec team 32 .default <<<"$output")" "false"
}

@test "a reply of the wrong shape is exit 65 naming endpoint and field, nothing written" {
	check() {
		cw_reset
		serve_reply "$1" "$2"
		run --separate-stderr fetch
		assert_failure 65
		assert_output ""
		# The last line: members that are not served are warned about.
		assert_equal "${stderr##*$'\n'}" "dq-fetch: $3"
	}
	check 'service/boards/1/teams$' '[{"id":31,"members":"101"}]' \
		'GET /service/boards/1/teams: id 31: "members" is a string, expected a list of member ids'
	check 'service/boards/1/teams$' '[{"id":31,"members":[101,"x"]}]' \
		'GET /service/boards/1/teams: id 31: "members" is a string, expected a list of member ids'
	check 'service/boards/1/teams$' '[{"id":31,"defaultFlag":"yes"}]' \
		'GET /service/boards/1/teams: id 31: "defaultFlag" is a string, expected true or false'
	check 'service/boards/1/teams$' '[7]' \
		'GET /service/boards/1/teams: row 1 is a number, expected an object'
	check 'service/boards$' '[{"id":"1","name":"Help Desk"}]' \
		'GET /service/boards: row 1: "id" is a string, expected a whole number'
	check 'service/boards$' '[{"id":1}]' \
		'GET /service/boards: id 1: "name" is missing, expected a string'
	check 'service/boards/1/statuses$' '[{"id":1,"name":["New"]}]' \
		'GET /service/boards/1/statuses: id 1: "name" is a list, expected a string'
	check 'service/tickets$' '[{"id":5001,"board":"Help Desk"}]' \
		'GET /service/tickets: id 5001: "board" is a string, expected an object'
	check 'service/tickets$' '[{"id":5001,"board":{"id":1,"name":7}}]' \
		'GET /service/tickets: id 5001: "board/name" is a number, expected a string'
	check 'service/tickets$' '[{"id":5001,"team":{"id":3.5}}]' \
		'GET /service/tickets: id 5001: "team/id" is a fraction, expected a whole number'
	check 'service/tickets$' '[{"id":5001,"_info":{"dateEntered":"yesterday"}}]' \
		'GET /service/tickets: id 5001: "_info/dateEntered" is not an RFC 3339 time'
	check 'service/tickets$' '[{"id":5001,"owner":{"id":101,"identifier":"adoe"},"actualHours":"2h"}]' \
		'GET /service/tickets: id 5001: "actualHours" is a string, expected a number'
	check 'system/members$' '[{"id":101,"identifier":"adoe","calendar":{"id":"3"}}]' \
		'GET /system/members: id 101: "calendar/id" is a string, expected a whole number'
	check 'schedule/calendars$' '[{"id":3,"mondayStartTime":"8am"}]' \
		'GET /schedule/calendars: id 3: "mondayStartTime" is not a time of day'
	check 'schedule/entries$' '[{"id":9,"member":{"identifier":"adoe"},"dateStart":false}]' \
		'GET /schedule/entries: id 9: "dateStart" is true or false, expected an RFC 3339 time'
	check 'system/inOutBoards$' '[{"id":4,"member":{"identifier":"adoe"},"dateBack":"soon"}]' \
		'GET /system/inOutBoards: id 4: "dateBack" is not an RFC 3339 time'
	check 'holidays$' '[{"id":2,"date":"Christmas"}]' \
		'GET /schedule/holidayLists/1/holidays: id 2: "date" is not a date'
	check 'system/myCompany/other$' '[{"id":1,"defaultCalendar":5}]' \
		'GET /system/myCompany/other: id 1: "defaultCalendar" is a number, expected an object'
}

@test "a list endpoint answering an object is exit 65" {
	serve_reply 'service/boards$' '{"id":1,"name":"Help Desk"}'
	run --separate-stderr fetch
	assert_failure 65
	assert_output ""
	assert_equal "$stderr" "dq-fetch: GET /service/boards: reply is not a list"
}
