# shellcheck shell=bash
#
# serve.bash: start and stop the test suite's loopback servers
# (cw-emulator.py, webhook-receiver.py), for their own helpers.
#
# serve_start NAME SCRIPT DIR TIMEOUT [SERVER OPTIONS...]
#     Run python3 SCRIPT on a free loopback port with its port file, log
#     and stderr in DIR, and wait at most TIMEOUT seconds until it listens.
#     Sets SERVE_PID and SERVE_PORT; NAME prefixes the messages.
# serve_stop PID      TERM, then KILL after 5 seconds.
# serve_control BASE METHOD NAME [JSON]
#                     Call BASE/NAME, a control endpoint, and print the reply.

serve_start() {
	local name=$1 script=$2 dir=$3 timeout=$4
	shift 4
	# 3>&- : bats waits for fd 3 to close before it finishes a file.
	python3 "$script" --port 0 --port-file "$dir/port" "$@" \
		</dev/null >"$dir/stderr" 2>&1 3>&- &
	SERVE_PID=$!
	local deadline=$((SECONDS + timeout))
	while [[ ! -s $dir/port ]]; do
		if ! kill -0 "$SERVE_PID" 2>/dev/null; then
			echo "$name: the server exited:" >&2
			cat "$dir/stderr" >&2
			return 1
		fi
		if ((SECONDS >= deadline)); then
			echo "$name: the server did not start in time" >&2
			serve_stop "$SERVE_PID"
			return 1
		fi
		sleep 0.05
	done
	read -r SERVE_PORT <"$dir/port"
}

serve_control() {
	local base=$1 method=$2 name=$3
	shift 3
	if (($#)); then
		curl -sS -X "$method" -H 'Content-Type: application/json' \
			--data-binary "$1" "$base/$name"
	else
		curl -sS -X "$method" "$base/$name"
	fi
}

serve_stop() {
	local pid=$1 i
	if kill -TERM "$pid" 2>/dev/null; then
		for ((i = 0; i < 100; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.05
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}

# cw_control and wh_control call it, also from tests that export them to a
# bash -c.
export -f serve_control
