#!/bin/sh
# bench/apply.sh: how long dq-apply --commit takes to write 500 decisions
# to the emulator when every request costs LATENCY ms (default 100), for a
# few --parallel values: requests and writes made, the most writes in
# flight at once, wall time, and what perfect overlap would take
# (requests x latency / parallel).
#
#   bench/apply.sh [BUILDDIR] [LATENCY_MS] [PARALLEL...]
#
# The data is tests/fixtures/cw-data.json plus 500 open, unowned New
# tickets (tests/cw-bulk.py), decided by round robin and booked by
# dq-schedule once; the emulator's data is reset before every run.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/emulator.sh"
build=${1:-$top/build}
latency=${2:-100}
[ $# -gt 2 ] && shift 2 || set -- 8 16
now=2026-03-10T15:00:00Z
dir=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$dir"' EXIT

python3 "$top/tests/cw-bulk.py" "$top/tests/fixtures/cw-data.json" \
	"$dir/data.json" --open 500 --now "$now"
start_emulator "$dir" "$now"

"$build/src/dq-fetch" --connectwise --now "$now" --history-days 0 |
	"$build/src/dq-eligible" --trigger-status New |
	"$build/src/dq-pick" --mode round-robin |
	"$build/src/dq-schedule" --horizon-hours 168 >"$dir/decided.ndjson"
decisions=$(grep -c '"outcome":"assigned"' "$dir/decided.ndjson")

printf '%-13s %9s %8s %6s %13s %8s %8s\n' run decisions requests writes \
	writes-in-flight wall-ms ideal-ms
for parallel in "$@"; do
	curl -sS -X POST "$control/reset" >/dev/null
	curl -sS -X POST -H 'Content-Type: application/json' \
		--data "{\"latency_ms\": $latency}" "$control/fault" >/dev/null
	start=$(date +%s%N)
	"$build/src/dq-apply" --commit --parallel "$parallel" \
		--journal "$dir/journal.$parallel" "$dir/decided.ndjson" >/dev/null
	end=$(date +%s%N)
	curl -sS "$control/requests" >"$dir/requests.json"
	python3 - "$dir/requests.json" "$parallel" "$(((end - start) / 1000000))" \
		"$latency" "$decisions" <<-'PY'
	import json, sys
	log = json.load(open(sys.argv[1]))["requests"]
	parallel, wall, latency = (int(x) for x in sys.argv[2:5])
	writes = [r for r in log if r["method"] != "GET"]
	# The most writes in flight at once: a sweep over their spans.
	edges = sorted([(r["start_ms"], 1) for r in writes] +
	               [(r["end_ms"], -1) for r in writes], key=lambda e: (e[0], e[1]))
	most = depth = 0
	for _, step in edges:
	    depth += step
	    most = max(most, depth)
	print("%-13s %9s %8d %6d %13d %8d %8d" % ("--parallel %d" % parallel,
	      sys.argv[5], len(log), len(writes), most, wall,
	      len(log) * latency // parallel))
	PY
done
