#!/usr/bin/env bats
# dq-apply against the ConnectWise emulator: dry runs, the exact writes of
# a commit, conflicts, re-runs, faults, crashes, concurrent runs, output
# formats and exit statuses. One emulator serves the file; setup() resets
# its data, so the decided stream made once stays true to it.

bats_require_minimum_version 1.5.0

NOW=2026-03-10T15:00:00Z
API=/v4_6_release/apis/3.0/

setup_file() {
	export BATS_NO_PARALLELIZE_WITHIN_FILE=true
	load cw-emulator
	cw_start --now "$NOW"
	# Eight unowned New tickets, decided by round robin and booked.
	dq-fetch --connectwise --now "$NOW" |
		dq-eligible --trigger-status New | dq-pick |
		dq-schedule >"$BATS_FILE_TMPDIR/decided.ndjson"
}

teardown_file() {
	load cw-emulator
	cw_stop
}

setup() {
	load helper
	load cw-emulator
	cw_reset
	export DQ_CW_BACKOFF_MS=1
	decided=$BATS_FILE_TMPDIR/decided.ndjson
	journal=$BATS_TEST_TMPDIR/journal
	export -f cw_requests cw_control writes data new_entries outcomes
}

# The writes the emulator received: METHOD PATH STATUS, paths below the base.
writes() {
	cw_requests | jq -r --arg api "$API" \
		'select(.method != "GET") | "\(.method) \(.path | ltrimstr($api)) \(.status)"'
}

# The body of the write METHOD PATH that succeeded, compact.
body_of() {
	cw_requests | jq -c --arg m "$1" --arg p "$API$2" \
		'select(.method == $m and .path == $p and .status < 300) | .body'
}

# The emulator's current data under PATH.
data() {
	cw_control GET "data?path=$1"
}

# The schedule entries of the tickets dq-apply books (5001 to 5008), per
# ticket: "TICKET COUNT".
new_entries() {
	data schedule/entries | jq -r '[.[] | select(.objectId >= 5001 and .objectId <= 5008)] | group_by(.objectId)[] | "\(.[0].objectId) \(length)"'
}

# Whether the last run's stderr holds TEXT.
stderr_has() {
	[[ $stderr == *"$1"* ]] || {
		echo "stderr lacks: $1"
		echo "stderr: $stderr"
		return 1
	}
}

assigned_ids() {
	tickets <"$decided" | jq -r 'select(.dispatch.outcome == "assigned") | .id'
}

# The applied outcome of every ticket in a stream on stdin: "ID OUTCOME".
outcomes() {
	tickets | jq -r '"\(.id) \(.applied.outcome)"'
}

@test "the decided stream has eight assigned tickets with slots" {
	run assigned_ids
	assert_equal "$(echo "$output" | paste -sd,)" "5008,5006,5005,5007,5001,5002,5003,5004"
	run bash -c "tickets <'$decided' | jq -r 'select(.slot.start) | .id' | wc -l"
	assert_output 8
}

@test "a dry run sends nothing, writes no journal, and shows the exact changes" {
	run --separate-stderr dq-apply --journal "$journal" --status-after Assigned --note "$decided"
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(cw_requests | wc -l)" 0
	[ ! -e "$journal" ]
	out=$output
	assert_equal "$(outcomes <<<"$out" | cut -d' ' -f2 | sort -u)" dry-run
	run field 5008 '.applied | del(.changes[2].body.text)' <<<"$out"
	assert_output '{"target":"connectwise","commit":false,"outcome":"dry-run","changes":[{"method":"PATCH","path":"/service/tickets/5008","body":[{"op":"replace","path":"owner","value":{"id":110}},{"op":"replace","path":"team","value":{"id":41}},{"op":"replace","path":"status","value":{"id":12}}]},{"method":"POST","path":"/schedule/entries","body":{"objectId":5008,"type":{"identifier":"S"},"member":{"id":110},"dateStart":"2026-03-10T15:10:00Z","dateEnd":"2026-03-10T15:40:00Z","allowScheduleConflictsFlag":false}},{"method":"POST","path":"/service/tickets/5008/notes","body":{"detailDescriptionFlag":false,"internalAnalysisFlag":true,"resolutionFlag":false,"processNotifications":false}}]}'
}

@test "a dry run needs no credentials, and passes other records through in order" {
	run --separate-stderr env -u DQ_CW_URL -u DQ_CW_PRIVATE_KEY dq-apply "$decided"
	assert_success
	assert_equal "$(jq -c 'del(.applied)' <<<"$output")" "$(jq -c . "$decided")"
}

@test "held, unassigned, skipped and manual tickets change nothing" {
	run dq-apply "$decided"
	run bash -c "tickets <<<'$output' | jq -c 'select(.dispatch.outcome == \"skipped\") | .applied.changes' | sort -u"
	assert_output '[]'
	printf '%s\n' '{"kind":"ticket","id":"1","status":"New","board":"Help Desk","psa":{"id":1},"dispatch":{"outcome":"held","reason":"rule:legal:hold"}}' \
		'{"kind":"ticket","id":"2","status":"New","board":"Help Desk","psa":{"id":2},"dispatch":{"outcome":"unassigned","reason":"no-eligible-candidate"}}' \
		'{"kind":"ticket","id":"3","status":"New","board":"Help Desk","psa":{"id":3},"dispatch":{"outcome":"manual","reason":"manual"}}' >"$BATS_TEST_TMPDIR/in"
	run dq-apply --commit --journal "$journal" "$BATS_TEST_TMPDIR/in"
	assert_success
	assert_equal "$(outcomes <<<"$output" | paste -sd,)" "1 unchanged,2 unchanged,3 unchanged"
	assert_equal "$(writes)" ""
	# Journaled all the same, one outcome line each and no intent.
	run jq -r '"\(.phase) \(.record.id) \(.record.dispatch.outcome)"' "$journal"
	assert_output "outcome 1 held
outcome 2 unassigned
outcome 3 manual"
}

@test "DEFAULT_TEAM keeps a team triage set: nothing to write, dry run or commit" {
	# 5003 is New with Help Desk's Tier 2 (32) set; the default is Tier 1 (31).
	cw_curl -X PATCH -H 'Content-Type: application/json' \
		--data-binary '[{"op":"replace","path":"team","value":{"id":32}}]' \
		"$CW_URL/service/tickets/5003" >/dev/null
	cw_control POST reset-log >/dev/null
	dq-fetch --connectwise --now "$NOW" | dq-eligible --trigger-status New |
		dq-pick --mode default-team >"$BATS_TEST_TMPDIR/teams"
	run field 5003 '.dispatch | [.outcome, .team, .reason]' <"$BATS_TEST_TMPDIR/teams"
	assert_output '["team","32","default-team:kept"]'
	run field 5001 '.dispatch | [.outcome, .team, .reason]' <"$BATS_TEST_TMPDIR/teams"
	assert_output '["team","31","default-team"]'
	run bash -c "dq-apply '$BATS_TEST_TMPDIR/teams' | field 5003 .applied.changes"
	assert_output '[]'
	cw_control POST reset-log >/dev/null
	run dq-apply --commit --journal "$journal" "$BATS_TEST_TMPDIR/teams"
	assert_success
	run field 5003 .applied.outcome <<<"$output"
	assert_output '"unchanged"'
	run grep 'tickets/500[13] ' <<<"$(writes)"
	assert_output 'PATCH service/tickets/5001 200'
	run bash -c "data service/tickets | jq '.[] | select(.id == 5003) | .team.id'"
	assert_output 32
}

@test "--commit writes exactly the planned PATCH and POST bodies, once each" {
	run --separate-stderr dq-apply --commit --status-after Assigned --journal "$journal" "$decided"
	assert_success
	assert_equal "$stderr" ""
	out=$output
	run outcomes <<<"$out"
	assert_line "5008 applied"
	assert_line "5018 unchanged"
	assert_equal "$(outcomes <<<"$out" | grep -c applied)" 8
	assert_equal "$(body_of PATCH service/tickets/5008)" '[{"op":"replace","path":"owner","value":{"id":110}},{"op":"replace","path":"team","value":{"id":41}},{"op":"replace","path":"status","value":{"id":12}}]'
	# 5003 had its team already: only owner and status change.
	assert_equal "$(body_of PATCH service/tickets/5003)" '[{"op":"replace","path":"owner","value":{"id":102}},{"op":"replace","path":"status","value":{"id":2}}]'
	assert_equal "$(body_of POST schedule/entries | grep '"objectId":5001')" '{"objectId":5001,"type":{"identifier":"S"},"member":{"id":108},"dateStart":"2026-03-10T15:10:00Z","dateEnd":"2026-03-10T15:40:00Z","allowScheduleConflictsFlag":false}'
	# One PATCH and one entry per assigned ticket, nothing else.
	assert_equal "$(writes | wc -l)" 16
	assert_equal "$(writes | grep PATCH | sort -u | wc -l)" 8
	assert_equal "$(writes | grep -c '^PATCH service/tickets/[0-9]* 200$')" 8
	assert_equal "$(writes | grep -c '^POST schedule/entries 201$')" 8
	# The emulator now shows the owners, teams and statuses.
	run bash -c "data service/tickets | jq -r '.[] | select(.id == 5008 or .id == 5003) | [.id, .owner.identifier, .team.id, .status.name] | @tsv'"
	assert_line "$(printf '5003\tmdoe\t31\tAssigned')"
	assert_line "$(printf '5008\tezhao\t41\tAssigned')"
	# applied.changes are the requests sent.
	assert_equal "$(field 5008 '[.applied.changes[] | .method + " " + .path]' <<<"$out")" '["PATCH /service/tickets/5008","POST /schedule/entries"]'
	# Writes carry JSON.
	run bash -c "cw_requests | jq -r 'select(.method != \"GET\") | .content_type' | sort -u"
	assert_output application/json
}

@test "--note posts one readable internal note: who, why in words, the slot in their zone, runners-up" {
	run dq-apply --commit --note "$decided"
	assert_success
	run body_of POST service/tickets/5006/notes
	assert_output --regexp '^\{"text":"dq assigned this ticket to Alice Doe of team Tier 1\. Why: round robin: the longest without a new ticket\. Booked Tue 10 Mar 11:10 to 11:40, America/New_York time\. Next in line: Michael Doe, Sam Wright\. Run dq-20260310T150000Z-[0-9a-f]{8}, configuration sha256:[0-9a-f]{64}\.","detailDescriptionFlag":false,"internalAnalysisFlag":true,"resolutionFlag":false,"processNotifications":false\}$'
	run bash -c "data service/tickets/5006/notes | jq -c '[.[] | select(.text | startswith(\"dq assigned\")) | .internalAnalysisFlag]'"
	assert_output '[true]'
}

@test "a ticket changed under us is a conflict: not written, exit 0" {
	cw_control POST data '{"path": "service/tickets/5005", "merge": {"owner": {"id": 103, "identifier": "jsmith"}}}' >/dev/null
	cw_control POST data '{"path": "service/tickets/5002", "merge": {"status": {"id": 3, "name": "In Progress"}}}' >/dev/null
	run --separate-stderr dq-apply --commit --journal "$journal" "$decided"
	assert_success
	out=$output
	run outcomes <<<"$out"
	assert_line "5005 conflict"
	assert_line "5002 conflict"
	assert_line "5006 applied"
	run field 5005 .applied.error <<<"$out"
	assert_output '"owner is jsmith in ConnectWise, not none"'
	assert_equal "$(writes | grep -c 'tickets/5005 \|tickets/5002 ')" 0
	assert_equal "$(new_entries | grep -c '^500[52] ')" 0
	stderr_has "dq-apply: ticket 5002: conflict: status is In Progress in ConnectWise, not New"
	run jq -r 'select(.record.id == "5005") | "\(.phase) \(.record.applied.outcome)"' "$journal"
	assert_output "intent null
outcome conflict"
}

@test "a ticket dq-watch cleared is written over its previous owner, and only over it" {
	# jsmith owns 5005 in ConnectWise; dq-watch cleared it for re-dispatch.
	cw_control POST data '{"path": "service/tickets/5005", "merge": {"owner": {"id": 103, "identifier": "jsmith"}}}' >/dev/null
	jq -c 'if .id == "5005" then .owner = "jsmith" |
	    .watch = {"event": "ISSUE_STALLED", "previous_owner": "jsmith", "clear": true}
	    else . end' "$decided" > "$BATS_TEST_TMPDIR/cleared"
	chosen=$(field 5005 .dispatch.chosen < "$decided" | tr -d '"')
	run bash -c "dq-apply --commit --journal '$journal' '$BATS_TEST_TMPDIR/cleared' | field 5005 .applied.outcome"
	assert_output '"applied"'
	run bash -c "data service/tickets | jq -r '.[] | select(.id == 5005) | .owner.identifier'"
	assert_output "$chosen"
	# Had someone else taken it meanwhile, the clear would be a conflict.
	cw_reset
	cw_control POST data '{"path": "service/tickets/5005", "merge": {"owner": {"id": 104, "identifier": "mlee"}}}' >/dev/null
	run bash -c "dq-apply --commit --quiet '$BATS_TEST_TMPDIR/cleared' | field 5005 .applied.error"
	assert_output '"owner is mlee in ConnectWise, not jsmith"'
}

@test "a ticket already as decided is unchanged: a second run writes nothing" {
	dq-apply --commit --note --journal "$journal" "$decided" >/dev/null
	cw_control POST reset-log >/dev/null
	run --separate-stderr dq-apply --commit --note --journal "$journal" "$decided"
	assert_success
	assert_equal "$(outcomes <<<"$output" | cut -d' ' -f2 | sort -u)" unchanged
	assert_equal "$(writes)" ""
	# It looked for the entry and the note before deciding so.
	run bash -c "cw_requests | jq -r 'select(.path | endswith(\"schedule/entries\")) | .params.conditions' | grep -c 'objectId=5008 and member/identifier=\"ezhao\" and dateStart=\[2026-03-10T15:10:00Z\]'"
	assert_output 1
	assert_equal "$(new_entries | awk '$2 != 1' | wc -l)" 0
}

@test "a lost entry is found missing and booked by the next run" {
	dq-apply --commit "$decided" >/dev/null
	id=$(data schedule/entries | jq '.[] | select(.objectId == 5004) | .id')
	cw_curl -X DELETE "$CW_URL/schedule/entries/$id"
	cw_control POST reset-log >/dev/null
	run dq-apply --commit "$decided"
	assert_success
	assert_equal "$(outcomes <<<"$output" | grep -v unchanged)" "5004 applied"
	assert_equal "$(writes)" "POST schedule/entries 201"
}

@test "429 and 500 on every kind of request: nothing lost, nothing written twice" {
	cw_fault '429@PATCH:^service/tickets/\d+$:3' '500@PATCH:^service/tickets/500[12]$:2' \
		'500@GET:^service/tickets/\d+$:3' '500@POST:schedule/entries$:2' \
		'429@POST:schedule/entries$:2' '500@POST:notes$:1' >/dev/null
	run --separate-stderr dq-apply --commit --note --journal "$journal" "$decided"
	assert_success
	assert_equal "$(outcomes <<<"$output" | grep -c applied)" 8
	# Every fault was met, and each ticket was written once.
	assert_equal "$(cw_control GET faults)" "[]"
	assert_equal "$(writes | grep -c '^PATCH .* 200$')" 8
	assert_equal "$(new_entries | awk '$2 == 1' | wc -l)" 8
	run bash -c "for t in 5001 5002 5003 5004 5005 5006 5007 5008; do data service/tickets/\$t/notes | jq '[.[] | select(.text | startswith(\"dq \"))] | length'; done | sort -u"
	assert_output 1
	# A POST that failed in transit was looked for before it was sent again.
	run bash -c "cw_requests | jq -r 'select(.method == \"GET\" and (.path | endswith(\"schedule/entries\"))) | .status' | wc -l"
	assert [ "$output" -ge 2 ]
}

@test "a transient fault that outlasts the retries fails that ticket only: exit 75" {
	cw_fault '503@PATCH:^service/tickets/5008$' >/dev/null
	run --separate-stderr dq-apply --commit --journal "$journal" "$decided"
	assert_failure 75
	out=$output
	run outcomes <<<"$out"
	assert_line "5008 failed"
	assert_equal "$(outcomes <<<"$out" | grep -c applied)" 7
	assert_equal "$stderr" "dq-apply: ticket 5008: PATCH /service/tickets/5008: 503 ConnectWiseApi: Service Unavailable (gave up after 6 attempts)"
	run field 5008 '.applied.changes | length' <<<"$out"
	assert_output 1
	run jq -r 'select(.record.id == "5008") | "\(.phase) \(.record.applied.outcome)"' "$journal"
	assert_output "intent null
outcome failed"
}

@test "--retries 0: a 503 on a write fails that ticket at the first answer" {
	cw_fault '503@PATCH:^service/tickets/5008$' >/dev/null
	run --separate-stderr dq-apply --commit --retries 0 --journal "$journal" "$decided"
	assert_failure 75
	assert_equal "$stderr" "dq-apply: ticket 5008: PATCH /service/tickets/5008: 503 ConnectWiseApi: Service Unavailable (gave up after 1 attempt)"
	assert_equal "$(writes | grep -c '^PATCH service/tickets/5008 503$')" 1
}

@test "a write ConnectWise rejects as invalid is exit 65, with its message" {
	run --separate-stderr dq-apply --commit --status-after "Old Triage" "$decided"
	assert_failure 65
	# Old Triage is inactive on Help Desk; Projects and Escalations lack it.
	stderr_has "dq-apply: ticket 5006: PATCH /service/tickets/5006: 400 InvalidObject"
	stderr_has "dq-apply: ticket 5008: board \"Projects\" has no status \"Old Triage\" in the stream's board record"
	assert_equal "$(writes | grep -c ' 200$')" 0
}

@test "a refusal is exit 69, and outranks a transient failure" {
	cw_fault '403@GET:^service/tickets/5001$' '503@PATCH:^service/tickets/5002$' >/dev/null
	run --separate-stderr dq-apply --commit "$decided"
	assert_failure 69
	out=$output
	run outcomes <<<"$out"
	assert_line "5001 failed"
	assert_line "5002 failed"
	assert_line "5003 applied"
}

@test "--target none writes nothing to the PSA but journals the decisions" {
	run dq-apply --commit --target none --journal "$journal" "$decided"
	assert_success
	assert_equal "$(cw_requests | wc -l)" 0
	assert_equal "$(outcomes <<<"$output" | grep -c applied)" 8
	run field 5008 .applied <<<"$output"
	assert_output '{"target":"none","commit":true,"outcome":"applied","changes":[]}'
	assert_equal "$(jq -r .phase "$journal" | sort -u)" outcome
}

@test "--auto-dispatch no: even with --commit nothing is written" {
	run --separate-stderr dq-apply --commit --auto-dispatch no --journal "$journal" "$decided"
	assert_success
	assert_equal "$stderr" "dq-apply: auto-dispatch is off: a dry run, nothing is written"
	assert_equal "$(cw_requests | wc -l)" 0
	[ ! -e "$journal" ]
	assert_equal "$(outcomes <<<"$output" | cut -d' ' -f2 | sort -u)" dry-run
}

@test "a run killed mid-way and run again leaves every ticket written once" {
	cw_fault latency:250 >/dev/null
	dq-apply --commit --note --parallel 2 --journal "$journal" "$decided" >/dev/null 2>&1 &
	pid=$!
	# Killed once some tickets are done and others are under way.
	for i in $(seq 100); do
		[ "$(jq -r 'select(.phase == "outcome" and .record.applied.outcome == "applied") | .seq' "$journal" 2>/dev/null | wc -l)" -ge 3 ] && break
		sleep 0.05
	done
	kill -KILL "$pid"
	wait "$pid" || true
	done_before=$(jq -r 'select(.phase == "outcome" and .record.applied.outcome == "applied") | .record.id' "$journal" | wc -l)
	assert [ "$done_before" -ge 3 ]
	assert [ "$done_before" -lt 8 ]
	# What the killed run had in flight reaches the emulator first.
	for i in $(seq 100); do
		[ "$(cw_control GET requests | jq .in_flight)" = 0 ] && break
		sleep 0.05
	done
	cw_control DELETE fault >/dev/null
	run dq-apply --commit --note --journal "$journal" "$decided"
	assert_success
	# Every line of the journal parses; each assigned ticket has one owner
	# write, one entry and one note.
	jq -e . "$journal" >/dev/null
	assert_equal "$(writes | grep -c '^PATCH .* 200$')" 8
	assert_equal "$(new_entries | awk '$2 == 1' | wc -l)" 8
	run bash -c "for t in \$(tickets <'$decided' | jq -r 'select(.dispatch.outcome == \"assigned\") | .id'); do data service/tickets/\$t/notes | jq '[.[] | select(.text | startswith(\"dq \"))] | length'; done | sort -u"
	assert_output 1
	# The second run finished what the first left: every assigned ticket
	# has an applied or unchanged outcome in the journal.
	run bash -c "jq -r 'select(.phase == \"outcome\" and .record.dispatch.outcome == \"assigned\" and (.record.applied.outcome == \"applied\" or .record.applied.outcome == \"unchanged\")) | .record.id' '$journal' | sort -u | wc -l"
	assert_output 8
}

@test "two runs at once over the same tickets never write one twice" {
	cw_fault latency:100 >/dev/null
	dq-apply --commit --note --parallel 2 --journal "$journal" "$decided" >"$BATS_TEST_TMPDIR/a" 2>/dev/null &
	a=$!
	dq-apply --commit --note --parallel 2 --journal "$journal" "$decided" >"$BATS_TEST_TMPDIR/b" 2>/dev/null &
	b=$!
	wait "$a"
	wait "$b"
	assert_equal "$(writes | grep -c '^PATCH .* 200$')" 8
	assert_equal "$(writes | grep -c '^PATCH')" 8
	assert_equal "$(new_entries | awk '$2 == 1' | wc -l)" 8
	assert_equal "$(writes | grep -c '^POST .*/notes 201$')" 8
	# Each ticket was applied by one run; the other saw it being written
	# (a conflict) or written (unchanged).
	run bash -c "cat '$BATS_TEST_TMPDIR/a' '$BATS_TEST_TMPDIR/b' | outcomes | grep -c ' applied$'"
	assert_output 8
	run bash -c "cat '$BATS_TEST_TMPDIR/a' '$BATS_TEST_TMPDIR/b' | tickets | jq -r 'select(.dispatch.outcome == \"assigned\") | .applied.outcome' | sort | uniq -c | awk '{print \$2}' | paste -sd,"
	assert_output --regexp '^applied(,conflict)?(,unchanged)?$'
}

@test "the journal: intent then outcome per written ticket, the whole record, one run" {
	run dq-apply --commit --journal "$journal" "$decided"
	assert_success
	run jq -c 'keys_unsorted' "$journal"
	assert_equal "$(echo "$output" | sort -u)" '["kind","phase","run","seq","at","wall","commit","pid","record"]'
	assert_equal "$(jq -r .run "$journal" | sort -u)" "$(head -n1 "$decided" | jq -r .id)"
	assert_equal "$(jq -r .at "$journal" | sort -u)" "$NOW"
	run jq -r 'select(.record.id == "5008") | "\(.phase) \(.seq) \(.record.applied.outcome) \(.record.slot.start) \(.record.dispatch.chosen)"' "$journal"
	assert_output "intent 8 null 2026-03-10T15:10:00Z ezhao
outcome 8 applied 2026-03-10T15:10:00Z ezhao"
	# The intent records the changes planned.
	run jq -c 'select(.phase == "intent" and .record.id == "5008") | [.record.applied.changes[].method]' "$journal"
	assert_output '["PATCH","POST"]'
	assert_equal "$(jq -r 'select(.phase == "intent") | .record.id' "$journal" | wc -l)" 8
	assert_equal "$(jq -r 'select(.phase == "outcome") | .record.id' "$journal" | wc -l)" "$(tickets <"$decided" | wc -l)"
}

@test "a run does not write a ticket another live run holds an intent for" {
	# A live process's unfinished intent: this shell holds the lock a
	# journal writer holds, on the byte at its pid.
	python3 - "$journal" "$decided" <<-'PY' &
	import fcntl, json, os, sys, time
	path, decided = sys.argv[1:]
	ticket = next(json.loads(l) for l in open(decided) if '"id":"5006"' in l)
	fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
	fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, os.getpid(), os.SEEK_SET)
	line = {"kind": "journal", "phase": "intent", "run": "other", "seq": 1,
	        "at": "2026-03-10T15:00:00Z", "wall": "2026-03-10T15:00:00Z",
	        "commit": True, "pid": os.getpid(), "record": ticket}
	os.write(fd, (json.dumps(line) + "\n").encode())
	open(path + ".ready", "w").close()
	time.sleep(30)
	PY
	holder=$!
	for i in $(seq 100); do [ -e "$journal.ready" ] && break; sleep 0.05; done
	run --separate-stderr dq-apply --commit --journal "$journal" "$decided"
	kill "$holder"
	assert_success
	out=$output
	run outcomes <<<"$out"
	assert_line "5006 conflict"
	assert_line "5005 applied"
	assert_equal "$stderr" "dq-apply: ticket 5006: conflict: run other (pid $holder) is writing it"
	assert_equal "$(writes | grep -c 'tickets/5006')" 0
	# Once that process is gone its intent is a crashed run's: finished.
	wait "$holder" || true
	run dq-apply --commit --journal "$journal" "$decided"
	assert_success
	assert_equal "$(outcomes <<<"$output" | grep -v unchanged)" "5006 applied"
}

@test "an answer lost after ConnectWise acted: nothing sent twice, nothing reported failed" {
	# ConnectWise makes the entry or note, then the connection drops
	# before its answer: libcurl must not send the POST again on its own,
	# and dq-apply finds the write made before it reports or retries it.
	cw_fault 'drop@POST:^schedule/entries$:3' 'drop@POST:/notes$:3' \
		'drop@PATCH:^service/tickets/\d+$:2' >/dev/null
	run --separate-stderr dq-apply --commit --note --journal "$journal" "$decided"
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(outcomes <<<"$output" | grep -c ' applied$')" 8
	assert_equal "$(cw_control GET faults)" "[]"
	# Each POST reached ConnectWise once: one entry and one note a ticket.
	assert_equal "$(writes | grep -c '^POST schedule/entries')" 8
	assert_equal "$(writes | grep -c '^POST .*/notes')" 8
	assert_equal "$(new_entries | awk '$2 == 1' | wc -l)" 8
	run bash -c "for t in 5001 5002 5003 5004 5005 5006 5007 5008; do data service/tickets/\$t/notes | jq '[.[] | select(.text | startswith(\"dq \"))] | length'; done | sort -u"
	assert_output 1
	# The three entries whose answers were lost were looked for, and found.
	run bash -c "cw_requests | jq -r 'select(.method == \"GET\" and (.path | endswith(\"schedule/entries\"))) | .items' | paste -sd' '"
	assert_output "1 1 1"
}

@test "two runs at once without a journal take turns: each ticket is written once" {
	export XDG_RUNTIME_DIR=$BATS_TEST_TMPDIR/run
	mkdir -m 700 "$XDG_RUNTIME_DIR"
	cw_fault latency:100 >/dev/null
	dq-apply --commit --note --parallel 2 "$decided" >"$BATS_TEST_TMPDIR/a" 2>"$BATS_TEST_TMPDIR/a.err" &
	a=$!
	dq-apply --commit --note --parallel 2 "$decided" >"$BATS_TEST_TMPDIR/b" 2>"$BATS_TEST_TMPDIR/b.err" &
	b=$!
	wait "$a"
	wait "$b"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/a.err" "$BATS_TEST_TMPDIR/b.err")" ""
	assert_equal "$(writes | grep -c '^PATCH')" 8
	assert_equal "$(new_entries | awk '$2 == 1' | wc -l)" 8
	assert_equal "$(writes | grep -c '^POST .*/notes 201$')" 8
	# One run wrote all eight; the other, after it, found them written.
	run bash -c "cat '$BATS_TEST_TMPDIR/a' '$BATS_TEST_TMPDIR/b' | tickets | jq -r 'select(.dispatch.outcome == \"assigned\") | .applied.outcome' | sort | uniq -c | awk '{print \$1, \$2}' | paste -sd,"
	assert_output "8 applied,8 unchanged"
	assert_equal "$(stat -c %a "$XDG_RUNTIME_DIR/dq-apply.lock")" 600
}

@test "the lock without a journal is the user's own" {
	export XDG_RUNTIME_DIR= TMPDIR=$BATS_TEST_TMPDIR
	ln -s /dev/null "$TMPDIR/dq-apply-$(id -u).lock"
	run --separate-stderr dq-apply --commit --target connectwise </dev/null
	assert_failure 74
	assert_equal "$stderr" "dq-apply: $TMPDIR/dq-apply-$(id -u).lock: Too many levels of symbolic links"
	rm "$TMPDIR/dq-apply-$(id -u).lock"
	run dq-apply --commit </dev/null
	assert_success
	[ -f "$TMPDIR/dq-apply-$(id -u).lock" ]
}

@test "the same ticket twice in a stream: the later record wins, one owner, one entry" {
	# 5003 again at the end, decided for someone else with another slot.
	{ cat "$decided"; tickets <"$decided" | jq -c 'select(.id == "5003") |
		.dispatch.chosen = "swright" | .slot.member = "swright" |
		.slot.start = "2026-03-10T17:10:00Z" | .slot.end = "2026-03-10T17:40:00Z"'; } >"$BATS_TEST_TMPDIR/twice"
	first=$(grep -n '"id":"5003"' "$BATS_TEST_TMPDIR/twice" | head -n1 | cut -d: -f1)
	last=$(wc -l <"$BATS_TEST_TMPDIR/twice")
	run --separate-stderr dq-apply --commit --note --journal "$journal" "$BATS_TEST_TMPDIR/twice"
	assert_success
	assert_equal "$stderr" "dq-apply: $BATS_TEST_TMPDIR/twice: line $last: ticket 5003 again: this record replaces the one of line $first"
	# One output record, the later, in its place.
	assert_equal "$(tickets <<<"$output" | jq -r 'select(.id == "5003") | "\(.dispatch.chosen) \(.applied.outcome)"')" "swright applied"
	assert_equal "$(tickets <<<"$output" | tail -n1 | jq -r .id)" 5003
	assert_equal "$(tickets <<<"$output" | wc -l)" "$(tickets <"$decided" | wc -l)"
	# One PATCH, one entry (swright's), one note; journaled once.
	assert_equal "$(writes | grep -c '^PATCH service/tickets/5003 ')" 1
	run bash -c "data schedule/entries | jq -r '.[] | select(.objectId == 5003) | .member.identifier'"
	assert_output swright
	run bash -c "data service/tickets/5003/notes | jq '[.[] | select(.text | startswith(\"dq \"))] | length'"
	assert_output 1
	assert_equal "$(jq -r 'select(.record.id == "5003") | .phase' "$journal" | paste -sd,)" intent,outcome
	# A dry run shows each record as it comes, and warns the same.
	run --separate-stderr dq-apply "$BATS_TEST_TMPDIR/twice"
	assert_equal "$(tickets <<<"$output" | jq -r 'select(.id == "5003") | .dispatch.chosen' | paste -sd,)" "mdoe,swright"
	assert_equal "$stderr" "dq-apply: $BATS_TEST_TMPDIR/twice: line $last: ticket 5003 again: this record replaces the one of line $first"
}

@test "the same ticket twice through the whole pipeline: every stage warns, decides it once, and it is written once" {
	dq-fetch --connectwise --now "$NOW" > "$BATS_TEST_TMPDIR/fetched"
	# The first ticket to dispatch again, right after itself.
	n=$(grep -n '"kind":"ticket".*"status":"New"' "$BATS_TEST_TMPDIR/fetched" | head -n 1 | cut -d: -f1)
	id=$(sed -n "${n}p" "$BATS_TEST_TMPDIR/fetched" | jq -r .id)
	awk -v n="$n" '{ print } NR == n { print }' "$BATS_TEST_TMPDIR/fetched" > "$BATS_TEST_TMPDIR/twice"
	pipeline='dq-eligible --trigger-status New | dq-pick | dq-schedule | dq-apply'
	run -0 --separate-stderr bash -o pipefail -c "< '$BATS_TEST_TMPDIR/twice' $pipeline"
	for prog in dq-pick dq-schedule dq-apply; do
		stderr_has "$prog: line $((n + 1)): ticket $id again: this record replaces the one of line $n"
	done
	assert_equal "$(wc -l <<< "$stderr")" 3
	# Without its earlier record, the dry run is the one of the stream
	# that has the ticket once: the tickets after it are decided, booked
	# and planned as if it came once.
	tickets <<< "$output" > "$BATS_TEST_TMPDIR/both"
	k=$(grep -n "^{\"kind\":\"ticket\",\"id\":\"$id\"" "$BATS_TEST_TMPDIR/both" | head -n 1 | cut -d: -f1)
	awk -v k="$k" 'NR != k' "$BATS_TEST_TMPDIR/both" > "$BATS_TEST_TMPDIR/dry"
	bash -o pipefail -c "< '$BATS_TEST_TMPDIR/fetched' $pipeline" | tickets > "$BATS_TEST_TMPDIR/once"
	cmp "$BATS_TEST_TMPDIR/once" "$BATS_TEST_TMPDIR/dry"
	# Committed: one PATCH of the ticket, one entry for every ticket.
	run -0 --separate-stderr bash -o pipefail -c "< '$BATS_TEST_TMPDIR/twice' $pipeline --commit"
	assert_equal "$(writes | grep -c "^PATCH service/tickets/$id ")" 1
	assert_equal "$(new_entries | awk '$2 != 1')" ""
	assert_equal "$(new_entries | wc -l)" "$(assigned_ids | wc -l)"
}

@test "a ConnectWise reply of the wrong shape fails that ticket, exit 65, naming the request and field" {
	# The ticket read back before the PATCH: an owner whose identifier is
	# a number is not "no owner", so nothing is written over it.
	cw_control POST fault '{"status": 200, "method": "GET", "path": "^service/tickets/5001$", "count": 1, "body": {"id": 5001, "owner": {"id": 7, "identifier": 7}}}' >/dev/null
	run --separate-stderr dq-apply --commit "$decided"
	assert_failure 65
	assert_equal "$stderr" 'dq-apply: ticket 5001: GET /service/tickets/5001: "owner/identifier" is a number, expected a string'
	out=$output
	run outcomes <<<"$out"
	assert_line "5001 failed"
	assert_equal "$(outcomes <<<"$out" | grep -c applied)" 7
	assert_equal "$(writes | grep -c '^PATCH service/tickets/5001 ')" 0
}

@test "a schedule entry POST answered without a numeric id is exit 65, not entry 0" {
	cw_control POST fault '{"status": 200, "method": "POST", "path": "^schedule/entries$", "count": 1, "body": {"id": "x"}}' >/dev/null
	run --separate-stderr dq-apply --commit --journal "$journal" "$decided"
	assert_failure 65
	assert_regex "$stderr" '^dq-apply: ticket 50[0-9]{2}: POST /schedule/entries: "id" is a string, expected a number$'
	run jq -c 'select(.phase == "outcome" and .record.applied.outcome == "failed") | .record.applied.entry' "$journal"
	assert_output null
}
