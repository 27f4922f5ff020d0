#!/usr/bin/env bats
# dq-apply --target webhook, the approval and push-timing gates, the agent
# commands, and the agent workspace's loop with dq-watch, against the
# webhook receiver of tests/webhook-receiver.py on loopback.
#
# The stream: examples/agents-snapshot.ndjson at 15:00, dispatched by
# capability match, each agent's webhook pointing at the receiver.

setup() {
	load helper
	load webhook-receiver
	wh_start
	journal="$BATS_TEST_TMPDIR/journal"
	stream="$BATS_TEST_TMPDIR/picked.ndjson"
	export journal stream
	jq -c --arg url "$WH_URL" \
	    'if .kind == "member" then .webhook = $url + "/hooks/" + .id else . end' \
	    "$EXAMPLES/agents-snapshot.ndjson" > "$BATS_TEST_TMPDIR/agents.ndjson"
	dq-eligible --trigger-status TODO "$BATS_TEST_TMPDIR/agents.ndjson" |
	    dq-pick --mode capability-match > "$stream"
	export DQ_BACKOFF_MS=1 DQ_CW_BACKOFF_MS=1
}

teardown() {
	wh_stop
}

apply() {
	dq-apply --target webhook --journal "$journal" "$@" < "$stream"
}

# The tickets the stream assigns, and to whom: "id member" lines.
assigned() {
	jq -r 'select(.dispatch.outcome == "assigned") | .id + " " + .dispatch.chosen' "$stream"
}

# What the receiver got: "ticket member path" lines, in ticket order.
received() {
	jq -r '[.body.ticket, .body.member, .path] | join(" ")' "$WH_LOG" | sort -n
}

# Journal lines: "phase ticket webhook" for ticket records.
journaled() {
	jq -r 'select(.record.kind == "ticket") |
	    [.phase, .record.id, (.record.applied.webhook // "-")] | join(" ")' "$journal"
}

export -f assigned received journaled

@test "a dry run shows the webhook it would send, and sends and journals nothing" {
	run bash -c "dq-apply --target webhook < '$stream' | field 501 .applied"
	assert_success
	assert_output --regexp '^\{"target":"webhook","commit":false,"outcome":"dry-run","webhook":"would-send","changes":\[\{"method":"POST","path":"http://127.0.0.1:[0-9]+/hooks/victor","body":\{"kind":"event","type":"AGENT_ASSIGNED","ticket":"501","member":"victor","at":"2026-11-23T15:00:00Z","summary":"Refund webhook double-charges on retry","dispatch":\{"mode":"CAPABILITY_MATCH",.*\}\}\}\],"delivery":\{"id":"[0-9a-f]{32}","url":"http://127.0.0.1:[0-9]+/hooks/victor","body":\{.*\}\}\}$'
	assert [ ! -s "$WH_LOG" ]
	assert [ ! -e "$journal" ]
}

@test "--commit posts the AGENT_ASSIGNED event, signed, once to each chosen agent" {
	run apply --commit
	assert_success
	run received
	assert_output "$(assigned | while read -r t m; do echo "$t $m /hooks/$m"; done | sort -n)"
	run jq -r '[.signature_valid, (.delivery | test("^[0-9a-f]{32}$")), .attempt,
	    .body.type, .body.dispatch.reason] | join(" ")' "$WH_LOG"
	assert_line 'true true 1 AGENT_ASSIGNED capability-match:2/2'
	refute_output --partial false
	# The signature is the HMAC of the bytes that were sent.
	jq -c 'select(.body.ticket == "501") | .body' "$WH_LOG" | head -c -1 > "$BATS_TEST_TMPDIR/body"
	run jq -r 'select(.body.ticket == "501") | .signature' "$WH_LOG"
	assert_output "$(wh_sign "$BATS_TEST_TMPDIR/body")"
	run bash -c "journaled | grep ' 501 '"
	assert_output 'intent 501 sent
outcome 501 sent'
}

@test "a second run finds every agent told: unchanged, nothing sent twice" {
	apply --commit > /dev/null
	before=$(wc -l < "$WH_LOG")
	run bash -c "dq-apply --target webhook --journal '$journal' --commit < '$stream' |
	    jq -r 'select(.applied) | .applied.outcome' | sort | uniq -c | awk '{print \$2, \$1}'"
	assert_success
	assert_line "unchanged $(jq -s 'length' <<< "$(jq -c 'select(.kind == "ticket")' "$stream")")"
	assert_equal "$(wc -l < "$WH_LOG")" "$before"
}

@test "5xx and 429 are retried with the same delivery id; nothing is lost" {
	wh_control POST config '{"fail_first": 3}' > /dev/null
	run apply --commit
	assert_success
	# Each ticket was delivered under one id; the failures were retries.
	run bash -c "jq -r 'select(.status == 200) | .body.ticket' '$WH_LOG' | sort -n | tr '\n' ' '"
	assert_output "$(assigned | cut -d' ' -f1 | sort -n | tr '\n' ' ')"
	run bash -c "jq -r '[.body.ticket, .delivery] | join(\" \")' '$WH_LOG' | sort -u | cut -d' ' -f1 | uniq -d"
	assert_output ''
	run jq -s '[.[] | select(.status == 500)] | length' "$WH_LOG"
	assert_output 3
}

@test "a receiver that refuses is exit 69; other tickets are not stopped" {
	wh_control POST config '{"status": 403}' > /dev/null
	run --separate-stderr apply --commit
	assert_failure 69
	assert_line --partial '"outcome":"failed"'
	[[ $stderr == *"ticket 501: POST http://127.0.0.1:$WH_PORT/hooks/victor: 403"* ]]
	run bash -c "journaled | grep '^outcome' | wc -l"
	assert_output "$(jq -c 'select(.kind == "ticket")' "$stream" | wc -l)"
}

@test "without a secret nothing is sent: exit 78" {
	run --separate-stderr env -u DQ_WEBHOOK_SECRET dq-apply --target webhook \
	    --journal "$journal" --commit < "$stream"
	assert_failure 78
	assert_equal "$stderr" "dq-apply: no webhook secret: set DQ_WEBHOOK_SECRET or --webhook-secret-file"
	assert [ ! -s "$WH_LOG" ]
	chmod 644 "$WH_SECRET_FILE"
	run --separate-stderr env -u DQ_WEBHOOK_SECRET dq-apply --target webhook \
	    --journal "$journal" --commit --webhook-secret-file "$WH_SECRET_FILE" < "$stream"
	assert_failure 78
	assert_equal "$stderr" "dq-apply: $WH_SECRET_FILE: webhook secret file is open to other users (mode 0644); chmod 600 it"
	chmod 600 "$WH_SECRET_FILE"
	run --separate-stderr env -u DQ_WEBHOOK_SECRET dq-apply --target webhook \
	    --journal "$journal" --commit --webhook-secret-file "$WH_SECRET_FILE" < "$stream"
	assert_success
	run jq -r '.signature_valid' "$WH_LOG"
	refute_output --partial false
}

@test "an agent without a webhook fails alone, exit 65" {
	jq -c 'if .kind == "member" and .id == "victor" then del(.webhook) else . end' \
	    "$stream" > "$BATS_TEST_TMPDIR/s"
	run --separate-stderr dq-apply --target webhook --journal "$journal" --commit < "$BATS_TEST_TMPDIR/s"
	assert_failure 65
	[[ $stderr == *"ticket 501: member victor has no webhook"* ]]
	run bash -c "received | cut -d' ' -f2 | sort -u | tr '\n' ' '"
	refute_output --partial victor
	assert_output --partial rin
}

@test "--require-approval holds the webhook until --approve sends it" {
	run bash -c "dq-apply --target webhook --journal '$journal' --commit --require-approval < '$stream' | field 501 .applied.webhook"
	assert_output '"pending-approval"'
	assert [ ! -s "$WH_LOG" ]
	# A dry run of the approval says what it would send.
	run bash -c "dq-apply --approve --journal '$journal' 501 | jq -c '[.id, .applied.webhook, .applied.commit, .applied.outcome]'"
	assert_output '["501","would-send",false,"dry-run"]'
	assert [ ! -s "$WH_LOG" ]
	run dq-apply --approve --journal "$journal" --commit 501
	assert_success
	run received
	assert_output '501 victor /hooks/victor'
	run bash -c "journaled | grep ' 501 '"
	assert_output 'intent 501 pending-approval
outcome 501 pending-approval
approve 501 sent'
	run --separate-stderr dq-apply --approve --journal "$journal" --commit 501
	assert_failure 65
	assert_equal "$stderr" 'dq-apply: ticket 501: its webhook is sent: nothing to approve'
	assert_equal "$(wc -l < "$WH_LOG")" 1
}

@test "the delivery approved is the one assigned: same id, same bytes" {
	apply --commit --require-approval > /dev/null
	dq-apply --approve --journal "$journal" --commit 501
	run jq -r 'select(.phase == "outcome" and .record.id == "501") | .record.applied.delivery.id' "$journal"
	assert_output "$(jq -r '.delivery' "$WH_LOG")"
	run jq -r '.signature_valid' "$WH_LOG"
	assert_output true
}

@test "--no-auto-start defers the webhook until --start" {
	run bash -c "dq-apply --target webhook --journal '$journal' --commit --no-auto-start < '$stream' | field 502 .applied.webhook"
	assert_output '"deferred"'
	assert [ ! -s "$WH_LOG" ]
	run dq-apply --start --journal "$journal" --commit 502 503
	assert_success
	run received
	assert_output "502 $(assigned | awk '$1 == 502 {print $2}') /hooks/$(assigned | awk '$1 == 502 {print $2}')
503 $(assigned | awk '$1 == 503 {print $2}') /hooks/$(assigned | awk '$1 == 503 {print $2}')"
}

@test "approval with --no-auto-start: approved, then deferred until --start" {
	apply --commit --require-approval > /dev/null
	run bash -c "dq-apply --approve --no-auto-start --journal '$journal' --commit 501 | jq -r .applied.webhook"
	assert_output deferred
	assert [ ! -s "$WH_LOG" ]
	run --separate-stderr dq-apply --approve --journal "$journal" --commit 501
	assert_failure 65
	dq-apply --start --journal "$journal" --commit 501
	run received
	assert_output '501 victor /hooks/victor'
}

@test "--reject undoes a held assignment: the ticket is dispatched again" {
	apply --commit --require-approval > /dev/null
	run bash -c "dq-eligible --journal '$journal' --once < '$BATS_TEST_TMPDIR/agents.ndjson' | field 501 .dispatch.reason"
	assert_output '"already-owned"'
	run dq-apply --reject --journal "$journal" --commit 501
	assert_success
	assert [ ! -s "$WH_LOG" ]
	run bash -c "dq-eligible --journal '$journal' --once --trigger-status TODO < '$BATS_TEST_TMPDIR/agents.ndjson' | field 501 '.eligible.pool'"
	assert_output '"default-team"'
	run --separate-stderr dq-apply --start --journal "$journal" --commit 501
	assert_failure 65
	assert_equal "$stderr" 'dq-apply: ticket 501: the journal shows no agent assigned to it by dq'
}

@test "--ack records the agent's acknowledgement, which dq-watch reads" {
	apply --commit > /dev/null
	run dq-apply --ack --journal "$journal" --commit 501
	assert_success
	assert_output '{"kind":"ack","ticket":"501","member":"victor"}'
	run jq -c 'select(.phase == "ack") | .record' "$journal"
	assert_output '{"kind":"ack","ticket":"501","member":"victor"}'
	run bash -c "dq-watch --journal '$journal' --ack-seconds 60 --now 2026-11-23T15:10:00Z < '$BATS_TEST_TMPDIR/agents.ndjson' |
	    jq -r 'select(.type == \"ISSUE_NOACK\") | .ticket' | sort -n | tr '\n' ' '"
	refute_output --partial '501 '
	assert_output --partial '502 '
}

@test "the agent commands need --journal, ticket ids, and one command" {
	run --separate-stderr dq-apply --approve 501
	assert_failure 64
	assert_equal "$stderr" "dq-apply: --approve needs --journal
Try 'dq-apply --help' for more information."
	run --separate-stderr dq-apply --approve --journal "$journal"
	assert_failure 64
	run --separate-stderr dq-apply --approve --start --journal "$journal" 501
	assert_failure 64
	run --separate-stderr dq-apply --target webhook --commit < "$stream"
	assert_failure 64
	assert_equal "$stderr" "dq-apply: --target webhook --commit needs --journal
Try 'dq-apply --help' for more information."
	printf 'approve = yes\n' > "$BATS_TEST_TMPDIR/policy"
	run --separate-stderr dq-apply --policy "$BATS_TEST_TMPDIR/policy" < /dev/null
	assert_failure 78
}

@test "a run killed mid-way and run again tells each agent once, under one delivery id" {
	wh_stop
	wh_start --latency-ms 400
	jq -c --arg url "$WH_URL" 'if .kind == "member" then .webhook = $url + "/hooks/" + .id else . end' \
	    "$stream" > "$BATS_TEST_TMPDIR/s" && mv "$BATS_TEST_TMPDIR/s" "$stream"
	dq-apply --target webhook --journal "$journal" --commit --parallel 2 < "$stream" > /dev/null &
	pid=$!
	for _ in $(seq 100); do [ -s "$WH_LOG" ] && break; sleep 0.05; done
	kill -9 "$pid"
	wait "$pid" || true
	run apply --commit
	assert_success
	# Every ticket reached its agent, and under one delivery id only.
	run bash -c "jq -r '.body.ticket' '$WH_LOG' | sort -un | tr '\n' ' '"
	assert_output "$(assigned | cut -d' ' -f1 | sort -n | tr '\n' ' ')"
	run bash -c "jq -r '[.body.ticket, .delivery] | join(\" \")' '$WH_LOG' | sort -u | cut -d' ' -f1 | uniq -d"
	assert_output ''
	# The journal parses, and each ticket's last outcome is settled.
	run jq -s -r '[.[] | select(.phase == "outcome")] | group_by(.record.id) |
	    map(last | .record.applied.outcome) | unique | join(" ")' "$journal"
	assert_output 'applied unchanged'
}

@test "two runs at once tell each agent once" {
	wh_stop
	wh_start --latency-ms 100
	jq -c --arg url "$WH_URL" 'if .kind == "member" then .webhook = $url + "/hooks/" + .id else . end' \
	    "$stream" > "$BATS_TEST_TMPDIR/s" && mv "$BATS_TEST_TMPDIR/s" "$stream"
	apply --commit > "$BATS_TEST_TMPDIR/a" &
	a=$!
	apply --commit > "$BATS_TEST_TMPDIR/b" &
	b=$!
	wait "$a" "$b"
	run bash -c "jq -r '.body.ticket' '$WH_LOG' | sort -n | uniq -d"
	assert_output ''
	run bash -c "jq -r '.body.ticket' '$WH_LOG' | sort -n | tr '\n' ' '"
	assert_output "$(assigned | cut -d' ' -f1 | sort -n | tr '\n' ' ')"
}

# The agent workspace's whole loop, as examples/agents-dispatch runs it.
loop() {
	dq-watch --journal "$journal" --stall-minutes 45 --ack-seconds 300 \
	    --redispatch-on-stall --redispatch-on-noack "$@" < "$BATS_TEST_TMPDIR/agents.ndjson" |
	    dq-eligible --journal "$journal" --once --trigger-status TODO "$@" |
	    dq-pick --mode capability-match --journal "$journal" "$@" |
	    dq-apply --target webhook --journal "$journal" --commit "$@"
}
export -f loop

@test "the redispatch loop: stalled work goes to someone else, and says why" {
	cp "$EXAMPLES/agents-journal.ndjson" "$journal"
	run bash -c 'loop > "$BATS_TEST_TMPDIR/out"; jq -c "select(.id == \"490\") |
	    [.watch.event, .watch.previous_owner, .dispatch.chosen, .dispatch.reason,
	    (.eligible.excluded[] | select(.ids | index(\"victor\")) | .why), .applied.outcome,
	    .applied.webhook]" "$BATS_TEST_TMPDIR/out"'
	assert_output '["ISSUE_STALLED","victor","rin","capability-match:2/3","previous-owner","applied","sent"]'
	# rin was told, with the provenance of the new decision.
	run jq -c 'select(.body.ticket == "490") | [.path, .body.dispatch.chosen, .body.dispatch.mode]' "$WH_LOG"
	assert_output '["/hooks/rin","rin","CAPABILITY_MATCH"]'
	# The journal holds the event, then the new assignment.
	run jq -r 'select(.record.ticket == "490" or .record.id == "490") |
	    [.phase, (.record.type // .record.applied.outcome), (.record.clear // "-")] | join(" ")' "$journal"
	assert_output --partial 'event ISSUE_STALLED true
intent  -
outcome applied -'
	# 492 went unacknowledged: cleared too, and given to someone else.
	run jq -r 'select(.id == "492") | .watch.previous_owner + " " + .dispatch.chosen' "$BATS_TEST_TMPDIR/out"
	refute_output --regexp 'ash ash$'
	# The next cycle reports nothing new for them: fresh assignments.
	run bash -c 'loop | jq -r "select(.kind == \"event\") | .ticket"'
	refute_output --partial 490
	refute_output --partial 492
}

@test "the master toggle: off, nothing is dispatched or sent, and dq-watch still reports" {
	cp "$EXAMPLES/agents-journal.ndjson" "$journal"
	cp "$journal" "$BATS_TEST_TMPDIR/before"
	printf 'auto-dispatch = no\n' > "$BATS_TEST_TMPDIR/off"
	run --separate-stderr bash -c 'loop --policy "$BATS_TEST_TMPDIR/off" > "$BATS_TEST_TMPDIR/out"'
	assert_success
	assert_equal "$stderr" 'dq-apply: auto-dispatch is off: a dry run, nothing is written'
	run jq -r 'select(.kind == "ticket") | .dispatch.reason' "$BATS_TEST_TMPDIR/out"
	assert_output "$(jq -r 'select(.kind == "ticket") | "auto-dispatch-off"' "$BATS_TEST_TMPDIR/agents.ndjson")"
	run jq -r 'select(.kind == "event") | .type + " " + .ticket' "$BATS_TEST_TMPDIR/out"
	assert_output 'ISSUE_STALLED 490
ISSUE_NOACK 492'
	assert [ ! -s "$WH_LOG" ]
	run cmp "$journal" "$BATS_TEST_TMPDIR/before"
	assert_success
}
