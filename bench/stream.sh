#!/bin/bash
# bench/stream.sh [BUILDDIR] [TICKETS]: every stage of the pipeline against
# a plain json-c parse-and-reserialize of its own input (bench/jsonc-
# roundtrip.c), on a synthetic stream of TICKETS tickets (default 200,000)
# and 500 members; the whole earliest-slot pipeline against one `jq -c .`
# pass over the fetched stream; each stage's output size against its
# input; and peak memory at a tenth of TICKETS and at TICKETS, which
# should follow the context, not the number of tickets.
#
# Times are user+system CPU seconds, best of three, measured side by side
# in one run: compare the ratios (stage ÷ round trip, lower is faster),
# not the seconds, on a shared machine.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../build}" && pwd)
tickets=${2:-200000}
bin=$build/src
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cc -O2 -o "$work/roundtrip" "$here/jsonc-roundtrip.c" \
	$(pkg-config --cflags --libs json-c)
python3 "$here/gen-stream.py" --tickets "$tickets" --members 500 \
	> "$work/snapshot"
python3 "$here/gen-stream.py" --tickets $((tickets / 10)) --members 500 \
	> "$work/small.snapshot"

# The inputs of each stage, made once.
"$bin/dq-fetch" --from "$work/snapshot" > "$work/fetched"
"$bin/dq-eligible" < "$work/fetched" > "$work/eligible"
"$bin/dq-pick" --mode earliest-slot < "$work/eligible" > "$work/picked"
"$bin/dq-schedule" < "$work/picked" > "$work/scheduled"

cpu() {	# cpu INPUT COMMAND...: best of three user+system seconds
	local input=$1 best= t
	shift
	for _ in 1 2 3; do
		t=$( { /usr/bin/time -f '%U %S' "$@" < "$input" > /dev/null; } 2>&1 |
		    awk 'END { print $1 + $2 }')
		if [ -z "$best" ] || awk "BEGIN { exit !($t < $best) }"; then
			best=$t
		fi
	done
	echo "$best"
}

peak_kb() {	# peak_kb INPUT COMMAND...
	local input=$1
	shift
	{ /usr/bin/time -f %M "$@" < "$input" > /dev/null; } 2>&1 | tail -n 1
}

size() { wc -c < "$1"; }

row() {	# row NAME INPUT COMMAND...: CPU, ÷ round trip of INPUT, out ÷ in
	local name=$1 input=$2 base t out
	shift 2
	base=$(cpu "$input" "$work/roundtrip")
	t=$(cpu "$input" "$@")
	"$@" < "$input" > "$work/out"
	out=$(size "$work/out")
	printf '%-32s %8s %8s %8.2f %8.2f\n' "$name" "$t" "$base" \
		"$(awk "BEGIN { print ($base > 0 ? $t / $base : 0) }")" \
		"$(awk "BEGIN { print $out / $(size "$input") }")"
}

printf '%s tickets, 500 members; CPU seconds, best of three\n' "$tickets"
printf '%-32s %8s %8s %8s %8s\n' stage cpu "json-c" "÷ json-c" "out÷in"
row "dq-fetch --from" "$work/snapshot" "$bin/dq-fetch" --from -
row "dq-eligible" "$work/fetched" "$bin/dq-eligible"
for mode in round-robin least-active capability-match earliest-slot; do
	row "dq-pick --mode $mode" "$work/eligible" "$bin/dq-pick" --mode "$mode"
done
row "dq-schedule" "$work/picked" "$bin/dq-schedule"
row "dq-apply (dry run)" "$work/scheduled" "$bin/dq-apply" --format ndjson

pipeline() {
	"$bin/dq-fetch" --from - | "$bin/dq-eligible" |
		"$bin/dq-pick" --mode earliest-slot | "$bin/dq-schedule" |
		"$bin/dq-apply" --format ndjson
}
# CPU of a pipeline: the shell's children, summed by time(1) via bash -c.
export -f pipeline
export bin
whole=$(cpu "$work/snapshot" bash -c pipeline)
jq=$(cpu "$work/fetched" jq -c .)
printf '\n%-32s %8s\n' "whole pipeline (earliest-slot)" "$whole"
printf '%-32s %8s %8.2f\n' "one jq -c . pass (fetched)" "$jq" \
	"$(awk "BEGIN { print $whole / $jq }")"

printf '\n%-32s %10s %10s\n' "peak memory (KiB)" $((tickets / 10)) "$tickets"
"$bin/dq-fetch" --from "$work/small.snapshot" > "$work/small.fetched"
"$bin/dq-eligible" < "$work/small.fetched" > "$work/small.eligible"
memory() {	# memory NAME SMALL BIG COMMAND...
	local name=$1 small=$2 big=$3
	shift 3
	printf '%-32s %10s %10s\n' "$name" "$(peak_kb "$small" "$@")" \
		"$(peak_kb "$big" "$@")"
}
memory "dq-fetch --from" "$work/small.snapshot" "$work/snapshot" \
	"$bin/dq-fetch" --from -
memory dq-eligible "$work/small.fetched" "$work/fetched" "$bin/dq-eligible"
memory "dq-pick --mode least-active" "$work/small.eligible" "$work/eligible" \
	"$bin/dq-pick" --mode least-active
