# shellcheck shell=bash
#
# cw-emulator.bash: run tests/cw-emulator.py from bats tests.
#
#   setup_file()    { load cw-emulator; cw_start; }
#   setup()         { load cw-emulator; cw_reset; }   # fresh data per test
#   teardown_file() { load cw-emulator; cw_stop; }
#
# cw_start [EMULATOR OPTIONS...]
#     Start the emulator on a free loopback port and wait (at most
#     $CW_START_TIMEOUT seconds, default 60) until it listens.  The data is
#     tests/fixtures/cw-data.json, or $CW_DATA, or a --data among the options.
#     Exports CW_PORT, CW_URL (the API base), CW_CONTROL (the control base),
#     CW_LOG (the NDJSON request log), CW_PID, CW_DIR (its scratch
#     directory, under $BATS_TEST_TMPDIR or $BATS_FILE_TMPDIR) and
#     DQ_CW_URL, DQ_CW_COMPANY, DQ_CW_PUBLIC_KEY, DQ_CW_PRIVATE_KEY,
#     DQ_CW_CLIENT_ID taken from the data file's credentials.
# cw_stop             Stop it: TERM, then KILL after 5 seconds.
# cw_requests         Print the request log, one JSON object per request.
# cw_reset            Re-read the data, drop run-time faults, empty the log.
# cw_fault SPEC...    Add faults at run time (syntax: top of cw-emulator.py).
# cw_control METHOD NAME [JSON]
#                     Call /__control/NAME and print the reply.
# cw_curl [CURL ARGS...]
#                     curl with the credentials, clientId and Accept header
#                     (read from a config file, so not on the command line).

_CW_HELPER_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=serve.bash
source "$_CW_HELPER_DIR/serve.bash"

cw_start() {
	local data=${CW_DATA:-$_CW_HELPER_DIR/fixtures/cw-data.json}
	local arg prev=
	for arg in "$@"; do
		case $prev,$arg in
		--data,*) data=$arg ;;
		*,--data=*) data=${arg#--data=} ;;
		esac
		prev=$arg
	done

	local base=${BATS_TEST_TMPDIR:-${BATS_FILE_TMPDIR:-${TMPDIR:-/tmp}}}
	CW_DIR=$(mktemp -d "$base/cw.XXXXXX") || return 1
	CW_LOG=$CW_DIR/requests.ndjson

	local creds
	creds=$(python3 -c '
import json, sys
c = json.load(open(sys.argv[1]))["credentials"]
print("\n".join(c[k] for k in ("company", "publicKey", "privateKey", "clientId")))
' "$data") || {
		echo "cw_start: cannot read credentials from $data" >&2
		return 1
	}
	{
		read -r DQ_CW_COMPANY
		read -r DQ_CW_PUBLIC_KEY
		read -r DQ_CW_PRIVATE_KEY
		read -r DQ_CW_CLIENT_ID
	} <<<"$creds"

	serve_start cw_start "$_CW_HELPER_DIR/cw-emulator.py" "$CW_DIR" \
		"${CW_START_TIMEOUT:-60}" --data "$data" --log "$CW_LOG" "$@" || return 1
	CW_PID=$SERVE_PID CW_PORT=$SERVE_PORT

	CW_URL=http://127.0.0.1:$CW_PORT/v4_6_release/apis/3.0
	CW_CONTROL=http://127.0.0.1:$CW_PORT/__control
	DQ_CW_URL=$CW_URL
	# For cw_curl: keeps the key off curl's command line.
	cat >"$CW_DIR/curlrc" <<-EOF
		user = "$DQ_CW_COMPANY+$DQ_CW_PUBLIC_KEY:$DQ_CW_PRIVATE_KEY"
		header = "clientId: $DQ_CW_CLIENT_ID"
		header = "Accept: application/vnd.connectwise.com+json; version=2025.1"
	EOF
	export CW_DIR CW_LOG CW_PID CW_PORT CW_URL CW_CONTROL
	export DQ_CW_URL DQ_CW_COMPANY DQ_CW_PUBLIC_KEY DQ_CW_PRIVATE_KEY
	export DQ_CW_CLIENT_ID
}

cw_stop() {
	[[ -n ${CW_PID:-} ]] || return 0
	serve_stop "$CW_PID"
	unset CW_PID
}

cw_requests() {
	cat "$CW_LOG"
}

cw_control() {
	serve_control "$CW_CONTROL" "$@"
}

cw_reset() {
	cw_control POST reset >/dev/null
}

cw_fault() {
	local json
	json=$(python3 -c 'import json, sys; print(json.dumps({"specs": sys.argv[1:]}))' "$@") &&
		cw_control POST fault "$json"
}

cw_curl() {
	curl -sS -g -K "$CW_DIR/curlrc" "$@"
}
