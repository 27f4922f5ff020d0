#!/usr/bin/env bats
# dq-pick: every mode, its tie-breaks, fallbacks, reasons and in-run state.

setup() {
	load helper
	desk="$FIXTURES/desk.ndjson"
	stream="$BATS_TEST_TMPDIR/stream.ndjson"
}

# crew N [member-json-extra]: a default team "1" on board B with N equal
# members m1..mN, none ever dispatched.
crew() {
	echo '{"kind":"run","id":"r","now":"2026-11-23T15:00:00Z"}'
	local ids=()
	for i in $(seq 1 "$1"); do
		echo "{\"kind\":\"member\",\"id\":\"m$i\",\"status\":\"ONLINE\",\"open\":{},\"created_at\":\"2025-01-01T00:00:00Z\"${2:-}}"
		ids+=("\"m$i\"")
	done
	echo "{\"kind\":\"team\",\"id\":\"1\",\"boards\":[\"B\"],\"members\":[$(IFS=,; echo "${ids[*]}")],\"default\":true}"
}

# work N: N unowned tickets on board B
work() {
	for i in $(seq 1 "$1"); do
		echo "{\"kind\":\"ticket\",\"id\":\"$((1000 + i))\",\"board\":\"B\",\"status\":\"New\",\"priority\":\"High\",\"labels\":[\"network\",\"vpn\",\"firewall\"],\"owner\":null,\"team\":null}"
	done
}

decide() {
	dq-eligible < "$stream" | dq-pick "$@" | tickets
}

@test "MANUAL_ONLY decides nothing, with reason manual" {
	run bash -c "dq-eligible < '$desk' | dq-pick --mode manual | tickets | jq -c 'select(.id==\"1001\") | .dispatch | [.mode, .outcome, .chosen, .team, .reason]'"
	assert_output '["MANUAL_ONLY","manual",null,"10","manual"]'
}

@test "DEFAULT_TEAM sets the board's default team, or leaves the ticket unassigned" {
	run bash -c "dq-eligible < '$desk' | dq-pick --mode default-team | tickets | jq -c 'select(.dispatch.mode) | [.id, .dispatch.outcome, .dispatch.chosen, .dispatch.team, .dispatch.reason]'"
	assert_line -n 0 '["1001","team",null,"10","default-team"]'
	assert_line -n 1 '["1002","unassigned",null,null,"no-eligible-candidate"]'
	assert_line -n 2 '["1003","team",null,"20","default-team"]'
}

@test "DEFAULT_TEAM keeps a team already set, reason default-team:kept" {
	run bash -c "dq-eligible < '$desk' | jq -c 'if .id == \"1001\" then .team = \"20\" elif .id == \"1002\" then .team = \"30\" else . end' | dq-pick --mode default-team | tickets | jq -c 'select(.dispatch.mode) | [.id, .dispatch.outcome, .dispatch.team, .dispatch.reason]'"
	assert_line -n 0 '["1001","team","20","default-team:kept"]'
	# kept although the board has no default team
	assert_line -n 1 '["1002","team","30","default-team:kept"]'
	assert_line -n 2 '["1003","team","20","default-team"]'
}

@test "DEFAULT_TEAM evaluates no workload or presence" {
	run bash -c "printf '%s\n' '{\"kind\":\"team\",\"id\":\"5\",\"boards\":[\"B\"],\"members\":[],\"default\":true}' '{\"kind\":\"ticket\",\"id\":\"1\",\"board\":\"B\"}' | dq-pick --mode default-team | tickets | jq -c '.dispatch | [.outcome, .team, .candidates]'"
	assert_output '["team","5",[]]'
}

@test "every assignment carries the whole provenance" {
	run bash -c "dq-eligible < '$desk' | dq-pick --mode least-active | tickets | jq -c 'select(.id==\"1002\") | .dispatch | keys_unsorted'"
	assert_output '["mode","outcome","candidates","ranked","excluded","chosen","team","reason","config"]'
}

@test "ROUND_ROBIN: never dispatched first, then oldest last dispatch, then oldest created_at, then id" {
	{ echo '{"kind":"run","id":"r","now":"2026-11-23T15:00:00Z"}'
	  echo '{"kind":"member","id":"a","last_dispatched_at":"2026-11-23T10:00:00Z","created_at":"2020-01-01T00:00:00Z"}'
	  echo '{"kind":"member","id":"b","last_dispatched_at":"2026-11-23T09:00:00Z"}'
	  echo '{"kind":"member","id":"c","created_at":"2024-01-01T00:00:00Z"}'
	  echo '{"kind":"member","id":"d","created_at":"2023-01-01T00:00:00Z"}'
	  echo '{"kind":"member","id":"e","created_at":"2023-01-01T00:00:00Z"}'
	  echo '{"kind":"team","id":"1","boards":["B"],"members":["a","b","c","d","e"],"default":true}'
	  work 1; } > "$stream"
	run bash -c "dq-eligible < '$stream' | dq-pick --mode round-robin | tickets | jq -c '.dispatch | [.candidates, .chosen, .reason]'"
	assert_output '[[{"id":"d","score":null,"active":0},{"id":"e","score":null,"active":0},{"id":"c","score":null,"active":0},{"id":"b","score":"2026-11-23T09:00:00Z","active":0},{"id":"a","score":"2026-11-23T10:00:00Z","active":0}],"d","round-robin"]'
}

@test "--candidates lists the best N; ranked counts them all" {
	{ crew 12; work 1; } > "$stream"
	run bash -c "dq-eligible < '$stream' | dq-pick --mode round-robin | tickets | jq -c '.dispatch | [(.candidates | map(.id)), .ranked, .chosen]'"
	assert_output '[["m1","m10","m11","m12","m2","m3","m4","m5","m6","m7"],12,"m1"]'
	run bash -c "dq-eligible < '$stream' | dq-pick --mode round-robin --candidates 2 | tickets | jq -c '.dispatch | [(.candidates | map(.id)), .ranked]'"
	assert_output '[["m1","m10"],12]'
	run bash -c "dq-eligible < '$stream' | dq-pick --mode round-robin --candidates 0 | tickets | jq -c '.dispatch | [(.candidates | length), .ranked]'"
	assert_output '[12,12]'
}

@test "ROUND_ROBIN cycles within a run" {
	{ crew 3; work 7; } > "$stream"
	run bash -c "dq-eligible < '$stream' | dq-pick --mode round-robin | tickets | jq -r .dispatch.chosen | paste -sd' '"
	assert_output "m1 m2 m3 m1 m2 m3 m1"
}

@test "in-run dispatches rank after older ones, in the order they happened" {
	{ crew 2; work 3; } > "$stream"
	run bash -c "dq-eligible < '$stream' | dq-pick --mode round-robin | tickets | jq -c '.dispatch.candidates' | tail -n 1"
	assert_output '[{"id":"m1","score":"2026-11-23T15:00:00Z","active":1},{"id":"m2","score":"2026-11-23T15:00:00Z","active":1}]'
}

@test "PRIORITY_MATCH prefers the lower-case priority among capabilities, round robin among them" {
	{ crew 4; work 3; } > "$stream"
	sed -i 's/"id":"m2",/"id":"m2","capabilities":["high"],/; s/"id":"m4",/"id":"m4","capabilities":["HIGH","urgent"],/' "$stream"
	run bash -c "dq-eligible < '$stream' | dq-pick --mode priority-match | tickets | jq -c '.dispatch | [.chosen, .reason, (.candidates | map(.score))]'"
	assert_line -n 0 '["m2","priority-match:high",[1,1,0,0]]'
	assert_line -n 1 '["m4","priority-match:high",[1,1,0,0]]'
	assert_line -n 2 '["m2","priority-match:high",[1,1,0,0]]'
}

@test "PRIORITY_MATCH falls back to round robin over everyone" {
	{ crew 3; work 2; } > "$stream"
	run bash -c "dq-eligible < '$stream' | dq-pick --mode priority-match | tickets | jq -c '.dispatch | [.chosen, .reason]'"
	assert_line -n 0 '["m1","round-robin"]'
	assert_line -n 1 '["m2","round-robin"]'
}

@test "CAPABILITY_MATCH takes the largest overlap of labels and capabilities" {
	{ crew 4; work 2; } > "$stream"
	sed -i 's/"id":"m1",/"id":"m1","capabilities":["network"],/; s/"id":"m3",/"id":"m3","capabilities":["vpn","network","printers"],/; s/"id":"m4",/"id":"m4","capabilities":["firewall","vpn"],/' "$stream"
	run bash -c "dq-eligible < '$stream' | dq-pick --mode capability-match | tickets | jq -c '.dispatch | [.chosen, .reason, .candidates]'"
	assert_line -n 0 '["m3","capability-match:2/3",[{"id":"m3","score":2,"active":0},{"id":"m4","score":2,"active":0},{"id":"m1","score":1,"active":0},{"id":"m2","score":0,"active":0}]]'
	assert_line -n 1 '["m4","capability-match:2/3",[{"id":"m4","score":2,"active":0},{"id":"m3","score":2,"active":1},{"id":"m1","score":1,"active":0},{"id":"m2","score":0,"active":0}]]'
}

@test "CAPABILITY_MATCH with no overlap, or no labels, is round robin" {
	{ crew 2; work 1; } > "$stream"
	run bash -c "dq-eligible < '$stream' | dq-pick --mode capability-match | tickets | jq -c '.dispatch | [.chosen, .reason]'"
	assert_output '["m1","round-robin"]'
	sed -i 's/"labels":\[[^]]*\]/"labels":[]/' "$stream"
	sed -i 's/"id":"m2",/"id":"m2","capabilities":["network"],/' "$stream"
	run bash -c "dq-eligible < '$stream' | dq-pick --mode capability-match | tickets | jq -c '.dispatch | [.chosen, .reason]'"
	assert_output '["m1","round-robin"]'
}

@test "LEAST_ACTIVE: fewest active tickets, reason least-active:N" {
	run bash -c "dq-eligible --max-active 0 < '$desk' | dq-pick --mode least-active --max-active 0 | tickets | jq -c 'select(.id==\"1001\") | .dispatch | [.chosen, .reason, (.candidates | map([.id, .active]))]'"
	assert_output '["adoe","least-active:3",[["adoe",3],["dlee",3],["eking",5]]]'
}

@test "LEAST_ACTIVE breaks ties by history, then round robin" {
	# adoe and dlee both have 3 active; adoe has related history at the same board
	run bash -c "dq-eligible --max-active 0 < '$desk' | dq-pick --mode least-active --max-active 0 | tickets | jq -c 'select(.id==\"1001\") | .dispatch.candidates[:2] | map([.id, .history])'"
	assert_output '[["adoe",0.26],["dlee",0]]'
	# equal history: the one never dispatched wins (dlee) over adoe
	run bash -c "grep -v '\"kind\":\"history\"' '$desk' | dq-eligible --max-active 0 | dq-pick --max-active 0 --mode least-active | tickets | jq -c 'select(.id==\"1001\") | .dispatch.chosen'"
	assert_output '"dlee"'
}

@test "history: similar closed tickets of the same company and type score higher" {
	run bash -c "dq-eligible --max-active 0 --inactive-status 'Waiting on Customer' < '$desk' | dq-pick --max-active 0 --inactive-status 'Waiting on Customer' --mode least-active | tickets | jq -c 'select(.id==\"1001\") | .dispatch.candidates | map([.id, .active, .history])'"
	# eking: 1 active, and her closed Outlook ticket at Acme 13 days ago
	assert_output '[["eking",1,10.304],["adoe",2,0.26],["dlee",3,0]]'
}

@test "dq-pick ranks by the active count dq-eligible judged, plus this run's" {
	# Not counting waiting tickets, eking has 1 active, adoe 2, dlee 3;
	# given to dq-eligible only, that count still decides.
	run bash -c "dq-eligible --max-active 0 --inactive-status 'Waiting on Customer' < '$desk' | dq-pick --max-active 0 --mode least-active | tickets | jq -c 'select(.id==\"1001\") | [.eligible.active, .dispatch.chosen, .dispatch.reason, (.dispatch.candidates | map([.id, .active]))]'"
	assert_output '[{"adoe":2,"dlee":3,"eking":1},"eking","least-active:1",[["eking",1],["adoe",2],["dlee",3]]]'
	# the next ticket of the run sees eking's new assignment
	run bash -c "dq-eligible --max-active 0 --inactive-status 'Waiting on Customer' < '$desk' | dq-pick --max-active 0 --mode least-active | tickets | jq -c 'select(.id==\"1003\") | .dispatch.candidates | map([.id, .active])'"
	assert_output '[["fgreen",0],["adoe",2]]'
}

@test "a stream without eligible.active is counted by dq-pick's own --inactive-status" {
	run bash -c "dq-eligible --max-active 0 < '$desk' | jq -c 'del(.eligible.active)' | dq-pick --max-active 0 --inactive-status 'Waiting on Customer' --mode least-active | tickets | jq -c 'select(.id==\"1001\") | .dispatch.chosen'"
	assert_output '"eking"'
}

@test "history comes with its evidence: the closed tickets that earned it, at most 3, best first" {
	{ crew 2
	  h='"kind":"history","owner":"m1","closed_at":"2026-11-20T00:00:00Z"'
	  echo "{$h,\"ticket\":\"7\",\"board\":\"B\"}"
	  echo "{$h,\"ticket\":\"3\",\"company\":\"Acme\",\"type\":\"net\"}"
	  echo "{$h,\"ticket\":\"9\",\"company\":\"Acme\"}"
	  echo "{$h,\"ticket\":\"5\",\"board\":\"Other\"}"
	  echo "{$h,\"ticket\":\"4\",\"company\":\"Acme\",\"type\":\"net\",\"summary\":\"VPN drops\"}"
	  echo "{$h,\"ticket\":\"8\",\"board\":\"B\"}"
	  echo '{"kind":"ticket","id":"1","board":"B","company":"Acme","type":"net","summary":"VPN drops again"}'
	} > "$stream"
	run bash -c "dq-eligible < '$stream' | dq-pick --mode least-active | tickets | jq -c '.dispatch.candidates | map([.id, .evidence])'"
	assert_output '[["m1",["4","3","9"]],["m2",[]]]'
	# ties go to the lower ticket id
	run bash -c "jq -c 'select(.kind != \"history\" or .company == null)' '$stream' | dq-eligible | dq-pick --mode earliest-slot | tickets | jq -c '.dispatch.candidates[0].evidence'"
	assert_output '["7","8"]'
}

@test "LEAST_ACTIVE spreads 30 tickets over 5 equal members, 6 each" {
	{ crew 5; work 30; } > "$stream"
	run bash -c "dq-eligible < '$stream' | dq-pick --mode least-active | tickets | jq -r .dispatch.chosen | sort | uniq -c | awk '{print \$2, \$1}'"
	assert_output "m1 6
m2 6
m3 6
m4 6
m5 6"
}

@test "capacity is re-checked against in-run counts" {
	{ crew 2 ',"max_concurrent":2'; work 5; } > "$stream"
	run bash -c "dq-eligible < '$stream' | dq-pick --mode round-robin | tickets | jq -c '.dispatch | [.outcome, .chosen, .excluded]'"
	assert_line -n 0 '["assigned","m1",[]]'
	assert_line -n 3 '["assigned","m2",[{"why":"at-capacity:2/2","ids":["m1"]}]]'
	assert_line -n 4 '["unassigned",null,[{"why":"at-capacity:2/2","ids":["m1","m2"]}]]'
	run bash -c "dq-eligible < '$stream' | dq-pick --mode round-robin | tickets | jq -r .dispatch.reason | tail -n 1"
	assert_output no-eligible-candidate
}

@test "no eligible candidate leaves the ticket unassigned with its pool team" {
	run bash -c "printf '%s\n' '{\"kind\":\"member\",\"id\":\"a\",\"status\":\"OFFLINE\"}' '{\"kind\":\"team\",\"id\":\"1\",\"boards\":[\"B\"],\"members\":[\"a\"],\"default\":true}' '{\"kind\":\"ticket\",\"id\":\"1\",\"board\":\"B\"}' | dq-eligible | dq-pick --mode least-active | tickets | jq -c '.dispatch | [.outcome, .chosen, .team, .reason, .candidates]'"
	assert_output '["unassigned",null,"1","no-eligible-candidate",[]]'
}

@test "a board-wide pool reports the chosen member's first team on that board" {
	run bash -c "dq-eligible < '$desk' | dq-pick --mode round-robin | tickets | jq -c 'select(.id==\"1002\") | .dispatch | [.chosen, .team]'"
	assert_output '["hnguyen","31"]'
	run bash -c "dq-eligible < '$desk' | dq-pick --mode least-active | tickets | jq -c 'select(.id==\"1002\") | .dispatch | [.chosen, .team]'"
	assert_output '["hnguyen","31"]'
}

@test "skipped tickets pass through dq-pick untouched" {
	run bash -c "dq-eligible < '$desk' | dq-pick --mode least-active | tickets | jq -c 'select(.id==\"1004\") | .dispatch'"
	assert_output '{"outcome":"skipped","reason":"already-owned"}'
}

@test "a ticket that never went through dq-eligible is bad input for a picking mode" {
	run --separate-stderr dq-pick --mode least-active <<< '{"kind":"ticket","id":"5"}'
	assert_failure 65
	assert_equal "$stderr" 'dq-pick: line 1: ticket 5 has no "eligible" candidates: run dq-eligible before dq-pick'
}

@test "the same input and now give the same bytes" {
	{ crew 5; work 40; } > "$stream"
	for mode in manual default-team round-robin priority-match capability-match least-active; do
		a=$(dq-eligible < "$stream" | dq-pick --mode "$mode" | sha256sum)
		b=$(dq-eligible < "$stream" | dq-pick --mode "$mode" | sha256sum)
		assert_equal "$a" "$b"
	done
	a=$(dq-eligible < "$desk" | dq-pick --mode least-active --now 2026-12-01T00:00:00Z | sha256sum)
	b=$(dq-eligible < "$desk" | dq-pick --mode least-active --now 2026-12-01T00:00:00Z | sha256sum)
	assert_equal "$a" "$b"
}

@test "the same ticket twice: the later record is decided as if the earlier had not come" {
	# 1001 on line 6 and again on line 8; everyone can take one ticket.
	{ crew 3 ',"max_concurrent":1'; work 2; work 1; work 3 | tail -n 1; } |
		dq-eligible > "$stream"
	run --separate-stderr dq-pick --mode round-robin "$stream"
	assert_success
	assert_equal "$stderr" "dq-pick: $stream: line 8: ticket 1001 again: this record replaces the one of line 6"
	# m1's ticket, load and turn go back when 1001 comes again, so m1
	# takes it again and m3 is free for 1003.
	assert_equal "$(tickets <<< "$output" | jq -r '"\(.id) \(.dispatch.chosen)"' | paste -sd,)" \
		"1001 m1,1002 m2,1001 m1,1003 m3"
	assert_equal "$(tickets <<< "$output" | jq -c 'select(.id == "1003") | .dispatch | [.candidates, .excluded]')" \
		'[[{"id":"m3","score":null,"active":0}],[{"why":"at-capacity:1/1","ids":["m1","m2"]}]]'
	run -0 --separate-stderr dq-pick --quiet --mode round-robin "$stream"
	assert_equal "$stderr" ""
}

@test "the same ticket twice: the in-run active counts and the round robin's clock count it once" {
	{ crew 3; work 1; work 3; } | dq-eligible > "$stream"
	for mode in least-active round-robin; do
		run -0 --separate-stderr dq-pick --mode "$mode" < "$stream"
		assert_equal "$stderr" "dq-pick: line 7: ticket 1001 again: this record replaces the one of line 6"
		assert_equal "$(tickets <<< "$output" | jq -c '[.id, .dispatch.chosen, (.dispatch.candidates | map([.id, .active, .score]))]' | tail -n 2)" \
			"$(dq-pick --mode "$mode" < <(awk 'NR != 6' "$stream") | tickets | jq -c '[.id, .dispatch.chosen, (.dispatch.candidates | map([.id, .active, .score]))]' | tail -n 2)"
	done
	# 1002 sees m1 given one ticket, not two.
	run -0 bash -c "dq-pick --mode least-active 2>/dev/null < '$stream' | tickets | jq -c 'select(.id == \"1002\") | .dispatch.candidates | map([.id, .active])'"
	assert_output '[["m2",0],["m3",0],["m1",1]]'
}
