# shellcheck shell=bash
#
# webhook-receiver.bash: run tests/webhook-receiver.py from bats tests.
#
# wh_start [RECEIVER OPTIONS...]
#     Start the receiver on a free loopback port and wait (at most
#     $WH_START_TIMEOUT seconds, default 60) until it listens.  Unless the
#     options name a --secret-file, one is written with a fixed test secret.
#     Exports WH_PORT, WH_URL (http://127.0.0.1:PORT), WH_LOG (NDJSON, one
#     line per POST), WH_PID, WH_DIR, WH_SECRET_FILE and DQ_WEBHOOK_SECRET.
# wh_stop             Stop it.
# wh_requests         Print the log.
# wh_sign FILE        Print "sha256=<hex>" for FILE's bytes under the secret.
# wh_control METHOD NAME [JSON]   Call /__control/NAME, print the reply.

_WH_HELPER_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=serve.bash
source "$_WH_HELPER_DIR/serve.bash"

wh_start() {
	local base=${BATS_TEST_TMPDIR:-${BATS_FILE_TMPDIR:-${TMPDIR:-/tmp}}}
	WH_DIR=$(mktemp -d "$base/wh.XXXXXX") || return 1
	WH_LOG=$WH_DIR/deliveries.ndjson
	WH_SECRET_FILE=
	local arg prev= extra=()
	for arg in "$@"; do
		case $prev,$arg in
		--secret-file,*) WH_SECRET_FILE=$arg ;;
		*,--secret-file=*) WH_SECRET_FILE=${arg#--secret-file=} ;;
		esac
		prev=$arg
	done
	if [[ -z $WH_SECRET_FILE ]]; then
		WH_SECRET_FILE=$WH_DIR/secret
		printf 'dq-test-webhook-secret\n' >"$WH_SECRET_FILE"
		extra=(--secret-file "$WH_SECRET_FILE")
	fi

	serve_start wh_start "$_WH_HELPER_DIR/webhook-receiver.py" "$WH_DIR" \
		"${WH_START_TIMEOUT:-60}" --log "$WH_LOG" "${extra[@]}" "$@" || return 1
	WH_PID=$SERVE_PID WH_PORT=$SERVE_PORT
	WH_URL=http://127.0.0.1:$WH_PORT
	# dq reads the secret from the environment or a file; strip newlines
	# the way the receiver does.
	DQ_WEBHOOK_SECRET=$(<"$WH_SECRET_FILE")
	export WH_DIR WH_LOG WH_PID WH_PORT WH_URL WH_SECRET_FILE DQ_WEBHOOK_SECRET
}

wh_stop() {
	[[ -n ${WH_PID:-} ]] || return 0
	serve_stop "$WH_PID"
	unset WH_PID
}

wh_requests() {
	cat "$WH_LOG"
}

wh_sign() {
	python3 -c '
import hashlib, hmac, sys
key = open(sys.argv[1], "rb").read().rstrip(b"\r\n")
body = open(sys.argv[2], "rb").read()
print("sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest())
' "$WH_SECRET_FILE" "$1"
}

wh_control() {
	serve_control "$WH_URL/__control" "$@"
}
