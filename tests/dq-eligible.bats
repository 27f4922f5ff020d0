#!/usr/bin/env bats
# dq-eligible: trigger filters, the candidate pool, per-member eligibility.

setup() {
	load helper
	desk="$FIXTURES/desk.ndjson"
}

# eligible DQ-ELIGIBLE-OPTIONS... : the tickets' decisions, one line each
eligible() {
	dq-eligible "$@" < "$desk" | tickets | jq -c '[.id, (.eligible // .dispatch)]'
}

@test "the pool is the default team, else every team on the board" {
	run eligible --trigger-status New
	assert_success
	assert_line -n 0 '["1001",{"team":"10","pool":"default-team","candidates":["adoe","eking"],"active":{"adoe":3,"eking":5},"excluded":[{"why":"offline","ids":["bsmith"]},{"why":"archived","ids":["cjones"]},{"why":"at-capacity:3/3","ids":["dlee"]}]}]'
	assert_line -n 1 '["1002",{"team":null,"pool":"board-teams","candidates":["gwu","hnguyen"],"active":{"gwu":0,"hnguyen":0},"excluded":[]}]'
	assert_line -n 2 '["1003",{"team":"20","pool":"default-team","candidates":["adoe","fgreen"],"active":{"adoe":3,"fgreen":0},"excluded":[]}]'
}

@test "a ticket with a team draws from that team" {
	run bash -c "sed 's/\"id\":\"1002\",\\(.*\\)\"team\":null/\"id\":\"1002\",\\1\"team\":\"30\"/' '$desk' | dq-eligible | tickets | jq -c 'select(.id==\"1002\") | .eligible'"
	assert_output '{"team":"30","pool":"ticket-team","candidates":["gwu"],"active":{"gwu":0},"excluded":[]}'
}

@test "a ticket whose team has no record is warned about and has no candidates" {
	run --separate-stderr bash -c "sed 's/\"id\":\"1002\",\\(.*\\)\"team\":null/\"id\":\"1002\",\\1\"team\":\"99\"/' '$desk' | dq-eligible | tickets | jq -c 'select(.id==\"1002\") | .eligible'"
	assert_output '{"team":"99","pool":"ticket-team","candidates":[],"active":{},"excluded":[]}'
	assert_equal "$stderr" 'dq-eligible: line 20: ticket 1002: no team record with id "99"'
}

@test "skip reasons: board, status, company filters, owner" {
	run eligible --board "Help Desk" --trigger-status New
	assert_line -n 1 '["1002",{"outcome":"skipped","reason":"board"}]'
	assert_line -n 3 '["1004",{"outcome":"skipped","reason":"already-owned"}]'
	assert_line -n 4 '["1005",{"outcome":"skipped","reason":"status"}]'
	run eligible --company "Acme Corp"
	assert_line -n 1 '["1002",{"outcome":"skipped","reason":"company-not-included:Globex"}]'
	run eligible --exclude-company Globex --exclude-company Initech
	assert_line -n 1 '["1002",{"outcome":"skipped","reason":"company-excluded:Globex"}]'
	assert_line -n 2 '["1003",{"outcome":"skipped","reason":"company-excluded:Initech"}]'
}

@test "board, status and company filters ignore case; reasons spell names as the context does" {
	run --separate-stderr eligible --board "HELP desk" --trigger-status new --exclude-company "acme CORP"
	assert_equal "$stderr" ""
	assert_line -n 0 '["1001",{"outcome":"skipped","reason":"company-excluded:Acme Corp"}]'
	assert_line -n 1 '["1002",{"outcome":"skipped","reason":"board"}]'
	assert_line -n 4 '["1005",{"outcome":"skipped","reason":"status"}]'
	run --separate-stderr eligible --company "GLOBEX"
	assert_equal "$(jq -c '.[1].reason // "eligible"' <<<"$output" | paste -sd,)" '"company-not-included:Acme Corp","eligible","company-not-included:Initech","company-not-included:Acme Corp","company-not-included:Acme Corp"'
	# --inactive-status too: "waiting ON customer" is not active work
	run bash -c "dq-eligible --max-active 0 --inactive-status 'waiting ON customer' < '$FIXTURES/desk.ndjson' | field 1001 .eligible.active"
	assert_output '{"adoe":2,"dlee":3,"eking":1}'
}

@test "a filter value that names nothing is warned once, naming the option" {
	run --separate-stderr eligible -x Internal -x internal --board "Help Desk" --board Helpdesk --trigger-status Nwe --company "Acme Corp" --inactive-status "On Hold" --inactive-status "Waiting on customer"
	assert_success
	assert_equal "$stderr" 'dq-eligible: --board "Helpdesk": no board of that name in the context or the tickets
dq-eligible: --trigger-status "Nwe": no status of that name in the context or the tickets
dq-eligible: --exclude-company "Internal": no company of that name in the context or the tickets
dq-eligible: --exclude-company "internal": no company of that name in the context or the tickets
dq-eligible: --inactive-status "On Hold": no status of that name in the context or the tickets'
	run --separate-stderr eligible -q -x Internal
	assert_equal "$stderr" ""
	# the example: "Internal IT" is the company, -x Internal a mistake
	run --separate-stderr dq-eligible -x Internal "$EXAMPLES/msp-snapshot.ndjson"
	assert_equal "$(grep -c 'exclude-company "Internal"' <<<"$stderr")" 1
}

@test "a ticket without a company is not included by a company filter" {
	run bash -c "printf '%s\n' '{\"kind\":\"ticket\",\"id\":\"1\",\"board\":\"B\"}' | dq-eligible -q --company Acme | tickets | jq -c .dispatch"
	assert_output '{"outcome":"skipped","reason":"company-not-included:"}'
}

@test "the master toggle off skips every ticket first" {
	run eligible --auto-dispatch=no --board "Help Desk"
	assert_equal "$(printf '%s\n' "${lines[@]}" | jq -r '.[1].reason' | sort -u)" auto-dispatch-off
}

@test "--drop removes skipped tickets and keeps the context" {
	run bash -c "dq-eligible --drop --trigger-status New < '$desk' | jq -r 'select(.kind==\"ticket\") | .id'"
	assert_output "1001
1002
1003"
	run bash -c "dq-eligible --drop --trigger-status New < '$desk' | jq -r 'select(.kind != \"ticket\") | .kind' | wc -l"
	assert_output 18
}

@test "--max-active overrides max_concurrent; 0 lifts every cap" {
	run bash -c "dq-eligible --max-active 3 < '$desk' | tickets | jq -c 'select(.id==\"1001\") | .eligible.excluded'"
	assert_output '[{"why":"at-capacity:3/3","ids":["adoe","dlee"]},{"why":"offline","ids":["bsmith"]},{"why":"archived","ids":["cjones"]},{"why":"at-capacity:5/3","ids":["eking"]}]'
	run bash -c "dq-eligible --max-active 0 < '$desk' | tickets | jq -c 'select(.id==\"1001\") | .eligible.candidates'"
	assert_output '["adoe","dlee","eking"]'
}

@test "--inactive-status and closed statuses do not count as active" {
	# eking: In Progress 1, Waiting on Customer 4, Closed 7 (a closed status)
	run bash -c "dq-eligible --max-active 5 < '$desk' | tickets | jq -c 'select(.id==\"1001\") | .eligible.excluded[] | select(.ids | index(\"eking\"))'"
	assert_output '{"why":"at-capacity:5/5","ids":["eking"]}'
	run bash -c "dq-eligible --max-active 5 --inactive-status 'Waiting on Customer' < '$desk' | tickets | jq -c 'select(.id==\"1001\") | .eligible.candidates'"
	assert_output '["adoe","dlee","eking"]'
}

@test "BUSY members stay eligible" {
	run bash -c "dq-eligible --max-active 0 < '$desk' | tickets | jq -r 'select(.id==\"1001\") | .eligible.candidates | index(\"dlee\")'"
	assert_output 1
}

@test "--working-now judges hours in each member's own zone" {
	# 15:00Z Monday: 10:00 in New York, 20:30 in Kolkata, 07:00 in Los Angeles
	run bash -c "dq-eligible --working-now < '$desk' | tickets | jq -c 'select(.id==\"1001\" or .id==\"1003\") | .eligible | [.candidates, .excluded]'"
	assert_line -n 0 '[["adoe"],[{"why":"offline","ids":["bsmith"]},{"why":"archived","ids":["cjones"]},{"why":"at-capacity:3/3","ids":["dlee"]},{"why":"outside-hours","ids":["eking"]}]]'
	assert_line -n 1 '[["adoe"],[{"why":"outside-hours","ids":["fgreen"]}]]'
	# 04:00Z Tuesday is 20:00 Monday in Los Angeles: no; 07:00Z is 23:00: the night shift
	run bash -c "dq-eligible --working-now --now 2026-11-24T07:00:00Z < '$desk' | tickets | jq -c 'select(.id==\"1003\") | .eligible.candidates'"
	assert_output '["fgreen"]'
}

@test "holidays are local dates" {
	# Thursday 26 November 23:00 in Los Angeles is 07:00Z on the 27th
	run bash -c "sed 's/\"mon\":\\[\"22:00\",\"06:00\"\\]/\"thu\":[\"22:00\",\"06:00\"]/' '$desk' | dq-eligible --working-now --now 2026-11-27T07:00:00Z | tickets | jq -c 'select(.id==\"1003\") | .eligible.excluded'"
	assert_output '[{"why":"outside-hours","ids":["adoe"]},{"why":"holiday","ids":["fgreen"]}]'
}

@test "a member without hours is always working; an unknown zone excludes with a warning" {
	run --separate-stderr bash -c "sed 's#\"tz\":\"America/Los_Angeles\"#\"tz\":\"Mars/Olympus\"#' '$desk' | dq-eligible --working-now | tickets | jq -c 'select(.id==\"1002\" or .id==\"1003\") | .eligible | [.candidates, .excluded]'"
	assert_line -n 0 '[["gwu","hnguyen"],[]]'
	assert_line -n 1 '[["adoe"],[{"why":"unknown-tz","ids":["fgreen"]}]]'
	assert_equal "$stderr" 'dq-eligible: line 12: member fgreen: unknown time zone "Mars/Olympus"'
}

@test "--quiet mutes warnings" {
	run --separate-stderr bash -c "sed 's#\"tz\":\"America/Los_Angeles\"#\"tz\":\"Mars/Olympus\"#' '$desk' | dq-eligible -q > /dev/null"
	assert_success
	assert_equal "$stderr" ""
}

@test "a ticket dq-watch cleared is unowned and triggered, without its previous owner" {
	run bash -c "printf '%s\n' '{\"kind\":\"team\",\"id\":\"1\",\"boards\":[\"B\"],\"members\":[\"a\",\"b\"],\"default\":true}' '{\"kind\":\"member\",\"id\":\"a\"}' '{\"kind\":\"member\",\"id\":\"b\"}' '{\"kind\":\"ticket\",\"id\":\"9\",\"board\":\"B\",\"status\":\"Assigned\",\"owner\":\"a\",\"watch\":{\"event\":\"ISSUE_STALLED\",\"previous_owner\":\"a\",\"clear\":true}}' | dq-eligible -q --trigger-status New | tickets | jq -c .eligible"
	assert_output '{"team":"1","pool":"default-team","candidates":["b"],"active":{"b":0},"excluded":[{"why":"previous-owner","ids":["a"]}]}'
}

@test "a team member without a member record is excluded, not guessed" {
	run bash -c "printf '%s\n' '{\"kind\":\"team\",\"id\":\"1\",\"boards\":[\"B\"],\"members\":[\"ghost\"],\"default\":true}' '{\"kind\":\"ticket\",\"id\":\"9\",\"board\":\"B\"}' | dq-eligible | tickets | jq -c .eligible.excluded"
	assert_output '[{"why":"unknown-member","ids":["ghost"]}]'
}

@test "a later context record replaces the earlier one" {
	run bash -c "{ cat '$desk'; echo '{\"kind\":\"member\",\"id\":\"bsmith\",\"status\":\"ONLINE\",\"teams\":[\"10\"]}'; echo '{\"kind\":\"ticket\",\"id\":\"2000\",\"board\":\"Help Desk\",\"status\":\"New\"}'; } | dq-eligible | tickets | jq -c 'select(.id==\"2000\") | .eligible.candidates'"
	assert_output '["adoe","bsmith","eking"]'
}
