#!/usr/bin/env bats
#
# Tests of the ConnectWise emulator itself (tests/cw-emulator.py), driven
# with curl(1) the way dq-fetch and dq-apply will drive it.  One emulator
# serves the whole file; setup() puts its data, faults and log back to the
# start before every test.

bats_require_minimum_version 1.5.0

setup_file() {
	# The tests share one emulator and reset it in setup(): run them in turn.
	export BATS_NO_PARALLELIZE_WITHIN_FILE=true
	load cw-emulator
	command -v jq >/dev/null || skip "jq is not installed"
	cw_start --now 2026-03-10T15:00:00Z
}

teardown_file() {
	load cw-emulator
	cw_stop
}

setup() {
	bats_load_library bats-support
	bats_load_library bats-assert
	load cw-emulator
	cw_reset
}

teardown() {
	# A test that started its own emulator stops it here, pass or fail.
	if [[ -n ${OWN_CW:-} ]]; then
		cw_stop
	fi
}

# ids TICKET-CONDITIONS: the ids of the matching tickets, one line.
ids() {
	cw_curl "$CW_URL/service/tickets" -G --data-urlencode "conditions=$1" \
		-d pageSize=1000 -d fields=id | jq -c '[.[].id]'
}

# status_of CURL-ARGS...: the HTTP status only.
status_of() {
	cw_curl -o /dev/null -w '%{http_code}' "$@"
}

# patch TICKET JSON: PATCH a ticket with a JSON-Patch body, print the reply.
patch() {
	cw_curl -X PATCH -H 'Content-Type: application/json' \
		--data-binary "$2" "$CW_URL/service/tickets/$1"
}

# ---------------------------------------------------------------- auth

@test "a request without Authorization is a 401 with a ConnectWise body" {
	run curl -sS -H "clientId: $DQ_CW_CLIENT_ID" -w '\n%{http_code}' \
		"$CW_URL/service/tickets"
	assert_success
	assert_line --index 0 '{"code":"ConnectWiseApi","message":"UserNotAuthenticated","errors":null}'
	assert_line --index 1 401
}

@test "a wrong private key is a 401 and the key never reaches the log" {
	run curl -sS -o /dev/null -w '%{http_code}' -H "clientId: $DQ_CW_CLIENT_ID" \
		-u "$DQ_CW_COMPANY+$DQ_CW_PUBLIC_KEY:not-the-key" "$CW_URL/system/info"
	assert_output 401
	run cw_curl "$CW_URL/system/info" -o /dev/null
	assert_success
	run jq -r '.auth' "$CW_LOG"
	assert_output $'bad\nok'
	run grep -c -e "$DQ_CW_PRIVATE_KEY" -e not-the-key -e Basic "$CW_LOG"
	assert_output 0
}

@test "a missing or unknown clientId is a 401" {
	run curl -sS -w '\n%{http_code}' \
		-u "$DQ_CW_COMPANY+$DQ_CW_PUBLIC_KEY:$DQ_CW_PRIVATE_KEY" "$CW_URL/system/info"
	assert_line --index 0 --partial '"code":"Unauthorized"'
	assert_line --index 1 401
	run curl -sS -o /dev/null -w '%{http_code}' -H 'clientId: 00000000-0000-0000-0000-000000000000' \
		-u "$DQ_CW_COMPANY+$DQ_CW_PUBLIC_KEY:$DQ_CW_PRIVATE_KEY" "$CW_URL/system/info"
	assert_output 401
	run jq -r '.client_id' "$CW_LOG"
	assert_output $'missing\nbad'
}

@test "the company id is case-insensitive and the Accept version is recorded" {
	run curl -sS -o /dev/null -w '%{http_code}' -H "clientId: $DQ_CW_CLIENT_ID" \
		-H 'Accept: application/vnd.connectwise.com+json; version=2025.1' \
		-u "DQTEST+$DQ_CW_PUBLIC_KEY:$DQ_CW_PRIVATE_KEY" "$CW_URL/system/info"
	assert_output 200
	run jq -r '.accept_version' "$CW_LOG"
	assert_output 2025.1
}

# ---------------------------------------------------------- conditions

@test "conditions: = on nested fields, booleans and null" {
	run ids 'board/name="Help Desk" and closedFlag=false and owner/id=null'
	assert_output '[5001,5002,5003,5004,5005,5006]'
	# Strings compare case-insensitively; single quotes work too.
	run ids "owner/identifier='ADOE'"
	assert_output '[5010,5021,5030]'
}

@test "conditions: in, not in, != and numeric comparisons" {
	run ids 'priority/id in (1, 2) and id >= 5016 and id < 5034'
	assert_output '[5016,5017,5032,5033]'
	run ids 'board/id=1 and status/id not in (1,2,3,4,5,6,7)'
	assert_output '[]'
	# SQL null semantics: != never matches a missing owner.
	run ids 'owner/identifier != "adoe" and closedFlag = false and board/id = 1'
	assert_output '[5011,5012,5013,5014,5015,5020,5022]'
}

@test "conditions: and binds tighter than or; parentheses regroup" {
	run ids 'board/id=2 or board/id=3 and closedFlag=true'
	assert_output '[5008,5018,5019,5023,5035,5037]'
	run ids '(board/id=2 OR board/id=3) AND closedFlag=TRUE'
	assert_output '[5035,5037]'
	run ids '((board/id = 3)) and not_a_field = 1'
	assert_failure
}

@test "conditions: contains, like, escaped quotes and [[] for a literal [" {
	run ids 'summary contains "printer"'
	assert_output '[5006,5022]'
	run ids 'summary like "VPN%"'
	assert_output '[5002]'
	run ids 'summary not like "%A%"'
	assert_output '[5002,5006,5011]'
	run ids 'summary contains "\"Shipping\""'
	assert_output '[5005]'
	run ids "summary contains '[[]ERROR'"
	assert_output '[5006]'
	# An unescaped [ opens a LIKE character set, as on SQL Server.
	run ids 'summary like "Printer on 3rd floor shows [ERROR 50.4] 100%"'
	assert_output '[]'
	run ids 'summary like "Printer on 3rd floor shows [[]ERROR 50.4] 100%"'
	assert_output '[5006]'
}

@test "conditions: [datetimes] on date fields, closedDate and _info names" {
	run ids 'closedDate > [2026-03-06T00:00:00Z] and closedDate < [2026-03-09T00:00:00Z]'
	assert_output '[5033,5034,5037,5038]'
	run ids 'lastUpdated >= [2026-03-10T12:00:00Z]'
	assert_output '[5001,5002,5003,5004,5010]'
	run ids 'dateEntered < [2026-02-21T00:00:00Z]'
	assert_output '[5018,5037]'
	run cw_curl "$CW_URL/system/inOutBoards" -G \
		--data-urlencode 'conditions=dateBack > [2026-03-10T15:00:00Z]' \
		-d fields=member/identifier
	assert_output '[{"member":{"identifier":"pnguyen"}},{"member":{"identifier":"lchen"}}]'
}

@test "the In/Out board: its type by reference name, _info in fields; the types by description" {
	run cw_curl "$CW_URL/system/inOutBoards" -G \
		--data-urlencode 'conditions=dateBack > [2026-03-10T15:00:00Z] and inOutType/name = "vacation"' \
		-d fields=member/identifier,inOutType/name,_info/dateEntered
	assert_output '[{"member":{"identifier":"pnguyen"},"inOutType":{"name":"Vacation"},"_info":{"dateEntered":"2026-03-06T22:00:00Z"}}]'
	run cw_curl "$CW_URL/system/inOutTypes" -G --data-urlencode 'conditions=description like "%Remote%"'
	assert_output '[{"id":5,"description":"Working Remotely"}]'
}

@test "conditions: malformed input is a 400 with a ConnectWise error body" {
	local bad
	for bad in 'bogus = 1' 'owner/identifier = adoe' 'requiredDate > "2026-03-01"' \
		'(board/id = 1' 'summary = "open' 'closedFlag = 1' 'owner = 101' \
		'integratorTags = "x"' 'id in ()' 'summary like 5' 'id = [not a date]'; do
		run cw_curl -w '\n%{http_code}' "$CW_URL/service/tickets" -G \
			--data-urlencode "conditions=$bad"
		assert_line --index 1 400
		run jq -e '.code and .message' <<<"${lines[0]}"
		assert_success
	done
	run cw_curl "$CW_URL/service/tickets" -G --data-urlencode 'conditions=owner/identifier = adoe'
	assert_output --partial 'strings must be quoted'
}

@test "childConditions and customFieldConditions look inside arrays" {
	run cw_curl "$CW_URL/service/boards/1/teams" -G \
		--data-urlencode 'childConditions=members = 104' -d fields=name
	assert_output '[{"name":"Tier 1"}]'
	run cw_curl "$CW_URL/service/tickets" -G -d fields=id \
		--data-urlencode 'customFieldConditions=caption="Dispatch Hold" and value=true'
	assert_output '[{"id":5003}]'
	# value holds booleans and strings alike.
	run cw_curl "$CW_URL/service/tickets" -G -d fields=id \
		--data-urlencode 'customFieldConditions=caption="Site Code" and value="GLX-IL"' \
		--data-urlencode 'conditions=closedFlag=true'
	assert_output '[{"id":5031},{"id":5036}]'
	run cw_curl "$CW_URL/service/tickets" -G -d fields=id -d pageSize=1 \
		--data-urlencode 'childConditions=customFields/caption="Site Code" and customFields/value like "ACME%"'
	assert_output '[{"id":5001}]'
}

# ------------------------------------------------ paging, fields, count

@test "paging: Link headers walk every page of a collection" {
	local url="$CW_URL/service/tickets?conditions=id%3E0&fields=id&pageSize=7"
	local all=() pages=0 headers
	headers=$BATS_TEST_TMPDIR/headers
	while [[ -n $url ]]; do
		run cw_curl -D "$headers" "$url"
		assert_success
		mapfile -t -O "${#all[@]}" all < <(jq '.[].id' <<<"$output")
		pages=$((pages + 1))
		if ((pages == 3)); then
			run grep -i '^Link:' "$headers"
			assert_output --regexp 'page=1>; rel="first", <[^>]*page=2>; rel="prev", <[^>]*page=4>; rel="next", <[^>]*page=5>; rel="last"'
			assert_output --partial 'conditions=id%3E0&fields=id&pageSize=7&page=1>'
		fi
		url=$(sed -n 's/^Link:.*<\([^>]*\)>; rel="next".*/\1/ip' "$headers")
	done
	assert_equal "$pages" 5
	assert_equal "${#all[@]}" 31
	assert_equal "$(printf '%s\n' "${all[@]}" | sort -u | wc -l)" 31
	# The last page has no rel="next" but still names first and last.
	run grep -i '^Link:' "$headers"
	refute_output --partial 'rel="next"'
	assert_output --partial 'rel="last"'
}

@test "paging: default page size 25, orderBy, pages past the end are empty" {
	run cw_curl "$CW_URL/service/tickets?fields=id"
	assert_equal "$(jq length <<<"$output")" 25
	run cw_curl "$CW_URL/service/tickets?fields=id&orderBy=priority/id%20asc,id%20desc&pageSize=4"
	assert_output '[{"id":5033},{"id":5016},{"id":5004},{"id":5035}]'
	run cw_curl "$CW_URL/service/tickets?fields=id&page=9&pageSize=10"
	assert_output '[]'
	run status_of "$CW_URL/service/tickets?orderBy=bogus%20asc"
	assert_output 400
	run status_of "$CW_URL/service/tickets?page=two"
	assert_output 400
}

@test "paging: pageSize over 1000 is clamped (or rejected on request)" {
	run cw_curl "$CW_URL/service/tickets?pageSize=5000&fields=id"
	assert_equal "$(jq length <<<"$output")" 31
	run jq -c 'select(.params.pageSize == "5000") | .notes' "$CW_LOG"
	assert_output '["pageSize 5000 clamped to 1000"]'

	OWN_CW=1
	cw_start --page-size-over-max reject
	run cw_curl -w '\n%{http_code}' "$CW_URL/service/tickets?pageSize=1001"
	assert_line --index 1 400
	assert_line --index 0 --partial 'pageSize: the maximum is 1000'
	run status_of "$CW_URL/service/tickets?pageSize=1000"
	assert_output 200
}

@test "paging: forward-only follows pageId and ends with an empty Link" {
	local headers=$BATS_TEST_TMPDIR/headers
	run cw_curl -D "$headers" -H 'pagination-type: forward-only' \
		"$CW_URL/service/tickets?fields=id&pageSize=20"
	assert_equal "$(jq length <<<"$output")" 20
	run grep -i '^Link:' "$headers"
	assert_output --regexp 'pageSize=20&pageId=5021>; rel="next"'
	run cw_curl -D "$headers" -H 'pagination-type: forward-only' \
		"$CW_URL/service/tickets?fields=id&pageSize=20&pageId=5030"
	assert_output '[{"id":5031},{"id":5032},{"id":5033},{"id":5034},{"id":5035},{"id":5036},{"id":5037},{"id":5038}]'
	run grep -i '^Link:' "$headers"
	assert_output --regexp '^Link: ?.$'
	run status_of -H 'pagination-type: forward-only' "$CW_URL/service/tickets?orderBy=id%20desc"
	assert_output 400
}

@test "fields projects nested paths and _info; unknown fields are a 400" {
	run cw_curl "$CW_URL/service/tickets/5010?fields=id,owner/identifier,_info/dateEntered,status"
	assert_output '{"id":5010,"status":{"id":2,"name":"Assigned","sort":1},"owner":{"identifier":"adoe"},"_info":{"dateEntered":"2026-03-10T12:00:00Z"}}'
	run status_of "$CW_URL/service/tickets?fields=id,ownerr"
	assert_output 400
}

@test "count endpoints honour conditions" {
	run cw_curl "$CW_URL/service/tickets/count" -G --data-urlencode 'conditions=closedFlag=true'
	assert_output '{"count":9}'
	run cw_curl "$CW_URL/service/boards/3/teams/count"
	assert_output '{"count":2}'
	run cw_curl "$CW_URL/system/members/count?conditions=inactiveFlag=false%20and%20licenseClass=%22F%22"
	assert_output '{"count":9}'
}

@test "child collections, single records, objects and 404s" {
	run cw_curl "$CW_URL/service/boards/1/statuses?conditions=closedStatus=true&fields=name"
	assert_output '[{"name":"Closed"},{"name":"Cancelled"}]'
	run cw_curl "$CW_URL/schedule/holidayLists/1/holidays?conditions=date=%222026-03-13%22&fields=name,allDayFlag,timeStart"
	assert_output '[{"name":"Company Offsite","allDayFlag":false,"timeStart":"13:00:00"}]'
	run cw_curl "$CW_URL/system/myCompany/other?fields=defaultCalendar/name"
	assert_output '[{"defaultCalendar":{"name":"Standard Office Hours"}}]'
	run cw_curl "$CW_URL/system/info"
	assert_output --partial '"cloudRegion":"NA"'
	run cw_curl -w '\n%{http_code}' "$CW_URL/service/tickets/4242"
	assert_line --index 0 '{"code":"NotFound","message":"Ticket with id 4242 was not found.","errors":null}'
	assert_line --index 1 404
	run status_of "$CW_URL/service/boards/9/teams"
	assert_output 404
	run status_of "$CW_URL/service/nothing"
	assert_output 404
	run status_of -X DELETE "$CW_URL/service/tickets/5001"
	assert_output 405
}

# ---------------------------------------------------------------- faults

@test "a 429 fault answers with Retry-After, then the server recovers" {
	cw_fault '429:^service/tickets$:2'
	local headers=$BATS_TEST_TMPDIR/headers
	run cw_curl -D "$headers" "$CW_URL/service/tickets?fields=id"
	assert_output '{"error":"ConnectWiseAPI","message":"Too many requests. Please try again in 1 seconds."}'
	run grep -i -e '^HTTP/' -e '^Retry-After:' "$headers"
	assert_line --index 0 --partial ' 429'
	assert_line --index 1 --regexp '^Retry-After: 1.$'
	# Other paths are not affected; the second matching request is the last 429.
	run status_of "$CW_URL/service/tickets/5001"
	assert_output 200
	run status_of "$CW_URL/service/tickets"
	assert_output 429
	run status_of "$CW_URL/service/tickets"
	assert_output 200
	run jq -c 'select(.fault) | [.status, .fault.status]' "$CW_LOG"
	assert_output $'[429,429]\n[429,429]'
}

@test "a 500 fault can target one method, and --fault works at start-up" {
	cw_fault '500@PATCH:^service/tickets/\d+$:1'
	run status_of "$CW_URL/service/tickets/5001"
	assert_output 200
	run status_of -X PATCH -H 'Content-Type: application/json' -d '[]' "$CW_URL/service/tickets/5001"
	assert_output 500
	run status_of -X PATCH -H 'Content-Type: application/json' -d '[]' "$CW_URL/service/tickets/5001"
	assert_output 200

	OWN_CW=1
	cw_start --fault '503:system/info' --fault 'latency:50:schedule'
	run status_of "$CW_URL/system/info"
	assert_output 503
	run status_of "$CW_URL/system/info"
	assert_output 503
	run status_of "$CW_URL/schedule/entries"
	assert_output 200
	run jq -r 'select(.path | endswith("schedule/entries")) | .duration_ms >= 50' "$CW_LOG"
	assert_output true
}

@test "a reset fault drops the connection without a reply" {
	cw_fault 'reset:system/info:1'
	run -52 cw_curl "$CW_URL/system/info"
	run status_of "$CW_URL/system/info"
	assert_output 200
	run cw_control GET faults
	assert_output '[]'
}

@test "a drop fault makes the write, then drops the connection without a reply" {
	cw_fault 'drop@POST:/notes$:1' >/dev/null
	run -52 cw_curl -X POST -H 'Content-Type: application/json' \
		--data '{"text": "once", "internalAnalysisFlag": true}' \
		"$CW_URL/service/tickets/5001/notes"
	run jq '[.[] | select(.text == "once")] | length' <<<"$(cw_control GET 'data?path=service/tickets/5001/notes')"
	assert_output 1
	run jq -r 'select(.fault.kind == "drop") | "\(.method) \(.status) \(.notes[-1])"' "$CW_LOG"
	assert_output "POST 201 acted on; answer dropped"
}

@test "a stall fault makes the write and holds the answer until the faults are cleared" {
	cw_fault 'stall@PATCH:^service/tickets/5001$:1' >/dev/null
	cw_curl -X PATCH -H 'Content-Type: application/json' \
		--data '[{"op":"replace","path":"summary","value":"held"}]' \
		"$CW_URL/service/tickets/5001" >"$BATS_TEST_TMPDIR/out" 2>&1 &
	client=$!
	for ((i = 0; i < 200; i++)); do
		grep -q '"kind":"stall"' "$CW_LOG" 2>/dev/null && break
		sleep 0.05
	done
	run jq -r '.[] | select(.id == 5001) | .summary' <<<"$(cw_control GET 'data?path=service/tickets')"
	assert_output held
	kill -0 "$client"
	cw_control DELETE fault >/dev/null
	rc=0
	wait "$client" || rc=$?
	assert_equal "$rc" 52
}

@test "bad fault specs are refused" {
	run cw_fault '700:x:1'
	assert_output --partial 'expected an HTTP status'
	run cw_fault 'latency:soon'
	assert_output --partial 'latency needs milliseconds'
	run -2 timeout 10 python3 "$BATS_TEST_DIRNAME/cw-emulator.py" \
		--data "$BATS_TEST_DIRNAME/fixtures/cw-data.json" --port-file /dev/null --fault 'x'
	assert_output --partial 'cw-emulator:'
}

# ---------------------------------------------------------------- writes

@test "PATCH sets owner, team and status and a later GET sees it" {
	run patch 5001 '[{"op":"replace","path":"owner","value":{"identifier":"mdoe"}},
		{"op":"replace","path":"team","value":{"id":31}},
		{"op":"replace","path":"status","value":{"id":2}}]'
	assert_success
	run jq -c '[.owner.id, .owner.identifier, .team.name, .status.name, ._info.lastUpdated, ._info.updatedBy]' <<<"$output"
	assert_output '[102,"mdoe","Tier 1","Assigned","2026-03-10T15:00:00Z","dqapi"]'
	run cw_curl "$CW_URL/service/tickets/5001?fields=owner/identifier,team/id,status/id"
	assert_output '{"status":{"id":2},"team":{"id":31},"owner":{"identifier":"mdoe"}}'
	run jq -c 'select(.method == "PATCH") | [.status, .body[0].path]' "$CW_LOG"
	assert_output '[200,"owner"]'
}

@test "PATCH validates like the server: 400 with errors[], nothing changed" {
	run cw_curl -w '\n%{http_code}' -X PATCH -H 'Content-Type: application/json' \
		-d '[{"op":"replace","path":"status","value":{"id":13}}]' "$CW_URL/service/tickets/5001"
	assert_line --index 0 '{"code":"InvalidObject","message":"ticket object is invalid","errors":[{"code":"NotFound","message":"The status id 13 was not found on board '"'Help Desk'"'.","resource":"ticket","field":"status"}]}'
	assert_line --index 1 400
	local body expect
	for body in '[{"op":"replace","path":"team","value":{"id":41}}]' \
		'[{"op":"replace","path":"owner","value":{"identifier":"kbrown"}}]' \
		'[{"op":"replace","path":"owner","value":{"id":999}}]' \
		'[{"op":"replace","path":"status","value":{"id":7}}]' \
		'[{"op":"replace","path":"board","value":{"id":2}}]' \
		'[{"op":"replace","path":"ownerr","value":{"id":101}}]' \
		'[{"op":"move","path":"owner","from":"team"}]' \
		'[{"op":"replace","path":"owner","value":101}]' \
		'[{"op":"remove","path":"status"}]' \
		'[{"op":"replace","path":"closedFlag","value":true}]' \
		'{"op":"replace","path":"owner","value":{"id":101}}'; do
		run status_of -X PATCH -H 'Content-Type: application/json' -d "$body" "$CW_URL/service/tickets/5001"
		assert_output 400
	done
	run status_of -X PATCH -H 'Content-Type: application/json' -d '[]' "$CW_URL/service/tickets/4242"
	assert_output 404
	# libcurl's default form Content-Type is refused.
	run status_of -X PATCH -d '[]' "$CW_URL/service/tickets/5001"
	assert_output 415
	run cw_curl "$CW_URL/service/tickets/5001?fields=owner,team,status/id,board/id"
	assert_output '{"board":{"id":1},"status":{"id":1}}'
}

@test "PATCH: moving board with a matching status; closing and reopening" {
	run patch 5001 '[{"op":"replace","path":"/board","value":{"name":"Escalations"}},
		{"op":"replace","path":"/status","value":{"name":"new"}},
		{"op":"add","path":"team","value":{"id":51}}]'
	run jq -c '[.board.id, .status.id, .team.id]' <<<"$output"
	assert_output '[3,21,51]'
	run patch 5001 '[{"op":"replace","path":"status","value":{"id":25}}]'
	run jq -c '[.closedFlag, .closedDate, .closedBy]' <<<"$output"
	assert_output '[true,"2026-03-10T15:00:00Z","dqapi"]'
	run patch 5001 '[{"op":"replace","path":"status","value":{"id":23}},{"op":"remove","path":"team"}]'
	run jq -c '[.closedFlag, .closedDate, .team]' <<<"$output"
	assert_output '[false,null,null]'
}

@test "PATCH into a reference sub-path is a false 200, noted in the log" {
	run patch 5010 '[{"op":"replace","path":"owner/identifier","value":"mdoe"}]'
	assert_success
	run jq -r '.owner.identifier' <<<"$output"
	assert_output adoe
	run jq -c 'select(.method == "PATCH") | [.status, .notes]' "$CW_LOG"
	assert_output "[200,[\"ignored PATCH sub-path 'owner/identifier' (false 200)\"]]"
}

@test "POST schedule/entries creates an entry a later GET returns" {
	run cw_curl -w '\n%{http_code}' -X POST -H 'Content-Type: application/json' -d '{
		"objectId": 5002, "type": {"identifier": "S"}, "member": {"identifier": "mdoe"},
		"dateStart": "2026-03-10T16:00:00Z", "dateEnd": "2026-03-10T16:30:00Z",
		"allowScheduleConflictsFlag": false}' "$CW_URL/schedule/entries"
	assert_line --index 1 201
	run jq -c '[.id, .objectId, .member.id, .type.id, .status.name, .hours, .name, .doneFlag]' <<<"${lines[0]}"
	assert_output '[9009,5002,102,4,"Firm",0.5,"Globex Industries / VPN drops every 10 minutes",false]'
	run cw_curl "$CW_URL/schedule/entries" -G -d fields=id \
		--data-urlencode 'conditions=type/identifier="S" and objectId=5002 and member/identifier="mdoe" and dateStart=[2026-03-10T16:00:00Z]'
	assert_output '[{"id":9009}]'
}

@test "POST schedule/entries validates fields, formats, tickets and conflicts" {
	local base='"type":{"identifier":"S"},"member":{"identifier":"adoe"},"objectId":5002'
	local body
	for body in \
		'{"member":{"identifier":"adoe"},"objectId":5002,"dateStart":"2026-03-11T16:00:00Z","dateEnd":"2026-03-11T17:00:00Z"}' \
		'{"type":{"identifier":"S"},"objectId":5002,"dateStart":"2026-03-11T16:00:00Z","dateEnd":"2026-03-11T17:00:00Z"}' \
		"{$base,\"dateStart\":\"2026-03-11T16:00:00Z\"}" \
		"{$base,\"dateStart\":\"2026-03-11 16:00\",\"dateEnd\":\"2026-03-11T17:00:00Z\"}" \
		"{$base,\"dateStart\":\"2026-03-11T16:00:00+01:00\",\"dateEnd\":\"2026-03-11T17:00:00Z\"}" \
		"{$base,\"dateStart\":\"2026-03-11T17:00:00Z\",\"dateEnd\":\"2026-03-11T16:00:00Z\"}" \
		'{"type":{"identifier":"S"},"member":{"identifier":"adoe"},"objectId":4242,"dateStart":"2026-03-11T16:00:00Z","dateEnd":"2026-03-11T17:00:00Z"}' \
		'{"type":{"identifier":"S"},"member":{"identifier":"kbrown"},"objectId":5002,"dateStart":"2026-03-11T16:00:00Z","dateEnd":"2026-03-11T17:00:00Z"}' \
		'{"type":{"identifier":"Q"},"member":{"identifier":"adoe"},"objectId":5002,"dateStart":"2026-03-11T16:00:00Z","dateEnd":"2026-03-11T17:00:00Z"}' \
		"{$base,\"dateStart\":\"2026-03-10T14:30:00Z\",\"dateEnd\":\"2026-03-10T15:30:00Z\"}"; do
		run cw_curl -w '\n%{http_code}' -X POST -H 'Content-Type: application/json' -d "$body" "$CW_URL/schedule/entries"
		assert_line --index 1 400
		run jq -e '.code == "InvalidObject" and (.errors | length) == 1' <<<"${lines[0]}"
		assert_success
	done
	# The overlap with entry 9001 is allowed when asked for.
	run status_of -X POST -H 'Content-Type: application/json' \
		-d "{$base,\"dateStart\":\"2026-03-10T14:30:00Z\",\"dateEnd\":\"2026-03-10T15:30:00Z\",\"allowScheduleConflictsFlag\":true}" \
		"$CW_URL/schedule/entries"
	assert_output 201
	run cw_curl "$CW_URL/schedule/entries/count"
	assert_output '{"count":9}'
}

@test "POST a ticket note; notes need text and a flag" {
	run cw_curl -w '\n%{http_code}' -X POST -H 'Content-Type: application/json' \
		-d '{"text":"dq: assigned to adoe","internalAnalysisFlag":true,"detailDescriptionFlag":false,"resolutionFlag":false,"processNotifications":false}' \
		"$CW_URL/service/tickets/5002/notes"
	assert_line --index 1 201
	run jq -c '[.id, .ticketId, .internalAnalysisFlag, .internalFlag, .member.identifier, .dateCreated]' <<<"${lines[0]}"
	assert_output '[70004,5002,true,true,"dqapi","2026-03-10T15:00:00Z"]'
	run cw_curl "$CW_URL/service/tickets/5002/notes/count"
	assert_output '{"count":1}'
	run status_of -X POST -H 'Content-Type: application/json' -d '{"text":"x"}' "$CW_URL/service/tickets/5002/notes"
	assert_output 400
	run status_of -X POST -H 'Content-Type: application/json' -d '{"internalAnalysisFlag":true}' "$CW_URL/service/tickets/5002/notes"
	assert_output 400
	run status_of -X POST -H 'Content-Type: application/json' -d '{"text":"x","internalAnalysisFlag":true}' "$CW_URL/service/tickets/4242/notes"
	assert_output 404
}

@test "POST service/tickets/search takes conditions in the body" {
	run cw_curl -X POST -H 'Content-Type: application/json' \
		-d '{"conditions":"board/id=2 and closedFlag=false","orderBy":"id desc"}' \
		"$CW_URL/service/tickets/search?fields=id"
	assert_output '[{"id":5023},{"id":5019},{"id":5018},{"id":5008}]'
}

@test "cw_reset puts the data back" {
	patch 5004 '[{"op":"replace","path":"owner","value":{"id":101}}]' >/dev/null
	run cw_curl "$CW_URL/service/tickets/5004?fields=owner/id"
	assert_output '{"owner":{"id":101}}'
	cw_reset
	run cw_curl "$CW_URL/service/tickets/5004?fields=owner/id"
	assert_output '{}'
}

# ----------------------------------------------------- HTTP and the log

@test "the request log records timing and the largest number in flight" {
	run cw_curl "$CW_URL/system/info" "$CW_URL/system/info" "$CW_URL/system/info" -o /dev/null -o /dev/null -o /dev/null
	run jq -s -c '[.[].max_in_flight] | max' "$CW_LOG"
	assert_output 1

	cw_control POST reset-log >/dev/null
	cw_fault 'latency:600:^system/info$'
	local i
	for i in 1 2 3 4 5; do
		cw_curl -o /dev/null "$CW_URL/system/info" &
	done
	wait
	run jq -s -c 'length' "$CW_LOG"
	assert_output 5
	run jq -s -e '([.[].max_in_flight] | max) >= 2 and all(.[]; .end_ms - .start_ms >= 600 and .status == 200)' "$CW_LOG"
	assert_success
	run cw_control GET requests
	run jq -e '(.requests | length) == 5 and .max_in_flight >= 2 and .in_flight == 0' <<<"$output"
	assert_success
}

@test "a request is in the log by the time its reply arrives" {
	local i last
	for i in $(seq 1 30); do
		patch 5001 '[{"op":"replace","path":"summary","value":"Edit '"$i"'"}]' >/dev/null
		last=$(tail -n 1 "$CW_LOG")
		assert_equal "$(jq -r '"\(.method) \(.status) \(.body[0].value)"' <<<"$last")" "PATCH 200 Edit $i"
	done
}

@test "HTTP/1.1 keep-alive reuses one connection; gzip when asked" {
	run cw_curl -v -o /dev/null -o /dev/null "$CW_URL/system/members/101" "$CW_URL/system/members/102"
	assert_output --partial 'Re-using existing connection'
	local headers=$BATS_TEST_TMPDIR/headers
	run cw_curl --compressed -D "$headers" "$CW_URL/system/members?fields=identifier&pageSize=2"
	assert_output '[{"identifier":"adoe"},{"identifier":"mdoe"}]'
	run grep -i '^Content-Encoding: gzip' "$headers"
	assert_success
	run cw_curl -D "$headers" -o /dev/null "$CW_URL/system/members"
	run grep -i '^Content-Encoding' "$headers"
	assert_failure
}

@test "companyinfo needs no auth and names the codebase" {
	run curl -sS "http://127.0.0.1:$CW_PORT/login/companyinfo/dqtest"
	assert_output --partial '"Codebase":"v4_6_release/"'
	run curl -sS "http://127.0.0.1:$CW_PORT/login/companyinfo/nobody"
	assert_output null
}
