#!/bin/sh
# bench/fetch.sh: how long a full ConnectWise fetch takes against the
# emulator when every request costs LATENCY ms (default 100), with the
# default --parallel and with --parallel 1: requests made, most in flight
# at once, wall time.
#
#   bench/fetch.sh [BUILDDIR] [LATENCY_MS]
#
# The data is tests/fixtures/cw-data.json plus 500 open tickets and 600
# tickets closed in the last 30 days (tests/cw-bulk.py).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/emulator.sh"
build=${1:-$top/build}
latency=${2:-100}
now=2026-03-10T15:00:00Z
dir=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null; rm -rf "$dir"' EXIT

python3 "$top/tests/cw-bulk.py" "$top/tests/fixtures/cw-data.json" \
	"$dir/data.json" --open 500 --closed 600 --now "$now"
start_emulator "$dir" "$now" --latency-ms "$latency"

printf '%-14s %8s %8s %9s %8s\n' run requests in-flight wall-ms records
for parallel in 8 1; do
	curl -sS -X POST "$control/reset-log" >/dev/null
	start=$(date +%s%N)
	"$build/src/dq-fetch" --connectwise --now "$now" --parallel "$parallel" \
		>"$dir/out.ndjson"
	end=$(date +%s%N)
	curl -sS "$control/requests" >"$dir/requests.json"
	python3 - "$dir/requests.json" "$parallel" "$(((end - start) / 1000000))" \
		"$(wc -l <"$dir/out.ndjson")" <<-'PY'
	import json, sys
	log = json.load(open(sys.argv[1]))
	print("%-14s %8d %8d %9s %8s" % ("--parallel " + sys.argv[2],
	      len(log["requests"]), log["max_in_flight"], sys.argv[3], sys.argv[4]))
	PY
done
