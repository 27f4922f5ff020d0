#!/bin/bash
# bench/stream.sh [BUILDDIR]: dq-eligible and dq-pick against a plain json-c
# parse-and-reserialize of the same stream (200,000 tickets, 500 members),
# and their peak memory at 50,000 and 200,000 tickets: memory should follow
# the context, not the number of tickets.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../build}" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cc -O2 -o "$work/roundtrip" "$here/jsonc-roundtrip.c" $(pkg-config --cflags --libs json-c)
python3 "$here/gen-stream.py" --tickets 200000 --members 500 > "$work/big.ndjson"
python3 "$here/gen-stream.py" --tickets 50000 --members 500 > "$work/small.ndjson"
"$build/src/dq-eligible" < "$work/big.ndjson" > "$work/big.eligible"
"$build/src/dq-eligible" < "$work/small.ndjson" > "$work/small.eligible"

seconds() {	# seconds INPUT COMMAND...: best of three wall times
	local input=$1 best=
	shift
	for _ in 1 2 3; do
		local t
		t=$( { /usr/bin/time -f %e "$@" < "$input" > /dev/null; } 2>&1 )
		if [ -z "$best" ] || awk "BEGIN { exit !($t < $best) }"; then best=$t; fi
	done
	echo "$best"
}

peak_kb() {	# peak_kb INPUT COMMAND...
	local input=$1
	shift
	{ /usr/bin/time -f %M "$@" < "$input" > /dev/null; } 2>&1
}

base=$(seconds "$work/big.ndjson" "$work/roundtrip")
base_pick=$(seconds "$work/big.eligible" "$work/roundtrip")
elig=$(seconds "$work/big.ndjson" "$build/src/dq-eligible")
pick=$(seconds "$work/big.eligible" "$build/src/dq-pick" --mode least-active)
rr=$(seconds "$work/big.eligible" "$build/src/dq-pick" --mode round-robin)

printf '%-34s %8s %8s\n' "200,000 tickets, 500 members" seconds "vs json-c"
printf '%-34s %8s %8s\n' "json-c round trip (snapshot)" "$base" 1.00
printf '%-34s %8s %8.2f\n' "dq-eligible" "$elig" "$(awk "BEGIN { print $base / $elig }")"
printf '%-34s %8s %8s\n' "json-c round trip (eligible)" "$base_pick" 1.00
printf '%-34s %8s %8.2f\n' "dq-pick --mode least-active" "$pick" "$(awk "BEGIN { print $base_pick / $pick }")"
printf '%-34s %8s %8.2f\n' "dq-pick --mode round-robin" "$rr" "$(awk "BEGIN { print $base_pick / $rr }")"
echo "(vs json-c: how many times faster than the round trip of the same input)"
echo
printf '%-34s %10s %10s\n' "peak memory (KiB)" "50,000" "200,000"
printf '%-34s %10s %10s\n' dq-eligible \
	"$(peak_kb "$work/small.ndjson" "$build/src/dq-eligible")" \
	"$(peak_kb "$work/big.ndjson" "$build/src/dq-eligible")"
printf '%-34s %10s %10s\n' "dq-pick --mode least-active" \
	"$(peak_kb "$work/small.eligible" "$build/src/dq-pick" --mode least-active)" \
	"$(peak_kb "$work/big.eligible" "$build/src/dq-pick" --mode least-active)"
