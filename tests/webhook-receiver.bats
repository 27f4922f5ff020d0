#!/usr/bin/env bats
#
# Tests of tests/webhook-receiver.py, the stand-in for an agent's webhook.

bats_require_minimum_version 1.5.0

setup() {
	bats_load_library bats-support
	bats_load_library bats-assert
	load webhook-receiver
	command -v jq >/dev/null || skip "jq is not installed"
	BODY=$BATS_TEST_TMPDIR/body.json
	printf '{"kind":"event","event":"AGENT_ASSIGNED","ticket":"5001"}' >"$BODY"
}

teardown() {
	wh_stop
}

# post DELIVERY-ID SIGNATURE: POST $BODY, print the HTTP status.
post() {
	curl -sS -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
		-H "X-Dq-Delivery: $1" -H "X-Dq-Signature: $2" \
		--data-binary @"$BODY" "$WH_URL/agents/bot-1?recordId=5001"
}

@test "a correctly signed delivery is accepted and recorded" {
	wh_start
	run post d-1 "$(wh_sign "$BODY")"
	assert_output 200
	run jq -c '[.path, .query, .delivery, .attempt, .signature_valid, .body.event, .status]' "$WH_LOG"
	assert_output '["/agents/bot-1","recordId=5001","d-1",1,true,"AGENT_ASSIGNED",200]'
	# The secret file's trailing newline is not part of the key.
	assert_equal "$DQ_WEBHOOK_SECRET" dq-test-webhook-secret
}

@test "a wrong or missing signature is recorded, and refused on request" {
	wh_start
	run post d-1 "sha256=$(printf '0%.0s' {1..64})"
	assert_output 200
	run curl -sS -o /dev/null -w '%{http_code}' --data-binary @"$BODY" "$WH_URL/"
	assert_output 200
	run jq -c '[.signature_valid, .delivery]' "$WH_LOG"
	assert_output $'[false,"d-1"]\n[false,null]'
	wh_stop

	wh_start --reject-bad-signature
	run post d-2 "sha256=deadbeef"
	assert_output 401
	run post d-2 "$(wh_sign "$BODY")"
	assert_output 200
}

@test "--fail-first fails the first deliveries; attempts count per delivery id" {
	wh_start --fail-first 2
	local sig
	sig=$(wh_sign "$BODY")
	run post d-7 "$sig"
	assert_output 500
	run post d-7 "$sig"
	assert_output 500
	run post d-7 "$sig"
	assert_output 200
	run post d-8 "$sig"
	assert_output 200
	run jq -c '[.delivery, .attempt, .status]' "$WH_LOG"
	assert_output $'["d-7",1,500]\n["d-7",2,500]\n["d-7",3,200]\n["d-8",1,200]'
	run wh_control GET deliveries
	run jq -c '.deliveries' <<<"$output"
	assert_output '{"d-7":3,"d-8":1}'
}

@test "--status sets the answer; config and reset change it at run time" {
	wh_start --status 410
	run post d-1 "$(wh_sign "$BODY")"
	assert_output 410
	wh_control POST config '{"status": 202, "fail_first": 1}' >/dev/null
	run post d-1 "$(wh_sign "$BODY")"
	assert_output 500
	run post d-1 "$(wh_sign "$BODY")"
	assert_output 202
	wh_control POST reset >/dev/null
	run wh_requests
	assert_output ''
	run curl -sS -o /dev/null -w '%{http_code}' "$WH_URL/agents/bot-1"
	assert_output 405
}
