#!/bin/sh
# run.sh [SECONDS]: builds dq's fuzzers with clang's libFuzzer,
# AddressSanitizer and UndefinedBehaviorSanitizer, and runs them for about
# SECONDS of wall time in all (default 600), FUZZ_JOBS (default 2) at a
# time, so each gets SECONDS * FUZZ_JOBS / (number of fuzzers), at least
# 5. Each starts from tests/fuzz/seeds/NAME:
#   rules, pods   the rules and pods parsers, and what the stages ask them
#   hours         the grammar of working hours that pods and the CSV
#                 members file share: what parses must read back the
#                 same from its record form
#   eligible, pick, schedule, apply
#                 the NDJSON record reader and the stage's handling of each
#                 record, through the stage's own main (apply: a dry run,
#                 shown as the table); an input is the stage's stdin
#   policy        the policy reader: an input is dq-pick's --policy file
#   csv           the CSV ticket and member import of dq-fetch: an input
#                 is the tickets file, then after a form feed the members
#   journal       the journal as the stages read it and as dq-apply's
#                 writer catches up on it
#   cw            dq-fetch --connectwise's handling of replies: an input is
#                 a JSON object of recorded replies by API path
# FUZZERS="pick cw" runs only those. FUZZ_WORK=DIR builds in DIR and keeps
# it (the library is rebuilt when a source changed; corpora grow from run
# to run). Without clang or libFuzzer it says so and exits 0. A crash, a
# leak (rules, pods, hours), a hang over 10 s or UB stops that fuzzer, prints
# the end of its log and leaves the input as ./crash-NAME-*; run.sh then
# exits 1. The harnesses that run a program's main cannot check for
# leaks: fuzz-main.h says why.
set -eu

seconds=${1:-600}
case $seconds in
''|*[!0-9]*) echo "usage: run.sh [SECONDS]" >&2; exit 64 ;;
esac
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cc=${FUZZ_CC:-clang}
jobs=${FUZZ_JOBS:-2}
case $jobs in
''|*[!0-9]*|0) echo "run.sh: FUZZ_JOBS: expected a number of jobs, not \"$jobs\"" >&2; exit 64 ;;
esac
fuzzers=${FUZZERS:-rules pods hours eligible pick schedule apply policy csv journal cw}

if ! command -v "$cc" >/dev/null 2>&1; then
	echo "run.sh: $cc not found: skipping the fuzzers (Debian: apt-get install clang)"
	exit 0
fi
if [ -n "${FUZZ_WORK:-}" ]; then
	work=$FUZZ_WORK
	mkdir -p "$work"
	trap 'rm -f "$work"/dq-fuzz-*' EXIT INT TERM
else
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT INT TERM
fi

echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' \
    > "$work/probe.c"
if ! "$cc" -fsanitize=fuzzer "$work/probe.c" -o "$work/probe" 2>/dev/null; then
	echo "run.sh: $cc cannot link libFuzzer: skipping the fuzzers"
	exit 0
fi

n=0
for name in $fuzzers; do
	case $name in
	rules|pods|hours|eligible|pick|schedule|apply|policy|csv|journal|cw) ;;
	*) echo "run.sh: no fuzzer $name" >&2; exit 64 ;;
	esac
	n=$((n + 1))
done
[ "$jobs" -le "$n" ] || jobs=$n
each=$((seconds * jobs / n))
[ "$each" -ge 5 ] || each=5

# The sources include <config.h>; the library needs only this of it.
cat > "$work/config.h" <<'CONFIG'
#define _GNU_SOURCE 1
#define PACKAGE_NAME "dq"
#define PACKAGE_VERSION "fuzz"
#define PACKAGE_BUGREPORT ""
CONFIG
echo "#define FUZZ_SEEDS \"$here/seeds\"" >> "$work/config.h"
cflags="-g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
 -I$work -I$top/src $(pkg-config --cflags json-c libcurl)"
libs="$(pkg-config --libs json-c libcurl libcrypto) -lcsv -lm"
export cc cflags

# The library as an archive, built once and FUZZ_JOBS units at a time, so
# that each fuzzer links only what it uses.
if [ ! -f "$work/libdq.a" ] ||
    [ -n "$(find "$top/src" -newer "$work/libdq.a" -name '*.[ch]')" ]; then
	rm -f "$work"/*.o "$work/libdq.a"
	# shellcheck disable=SC2016
	for src in "$top"/src/*.c; do
		case ${src##*/} in dq-*) ;; *) echo "$src" ;; esac
	done | xargs -P "$jobs" -I{} sh -c \
	    '"$cc" $cflags -c "$1" -o "$2/$(basename "$1" .c).o"' sh {} "$work"
	ar rcs "$work/libdq.a" "$work"/*.o
fi

# Builds and runs one fuzzer; its log is $work/log-NAME.
fuzz() {
	name=$1 extra='' dict=json leaks=0
	case $name in
	rules|pods|hours) src=fuzz-$name.c dict=$name leaks=1 ;;
	eligible|pick|schedule|apply) src=fuzz-stage.c extra="-DFUZZ_STAGE_$name" ;;
	*) src=fuzz-$name.c ;;
	esac
	# A program's exit becomes a return to the harness (fuzz-main.h).
	[ "$leaks" = 1 ] || extra="$extra -Wl,--wrap=exit,--wrap=fclose"
	# shellcheck disable=SC2086
	"$cc" $cflags -Wall -Wextra -Wno-unused-parameter -Werror \
	    -fsanitize=fuzzer $extra "$here/$src" "$work/libdq.a" $libs \
	    -o "$work/fuzz-$name" || return 1
	mkdir -p "$work/corpus-$name"
	echo "run.sh: fuzzing $name for $each seconds"
	# New inputs go to the first directory; the seeds stay untouched. A
	# program's own output and messages go to /dev/null.
	TMPDIR=$work ASAN_OPTIONS=detect_leaks=$leaks "$work/fuzz-$name" \
	    -max_total_time="$each" -timeout=10 -rss_limit_mb=2048 \
	    -detect_leaks=$leaks -close_fd_mask=3 -dict="$here/$dict.dict" \
	    -artifact_prefix="./crash-$name-" -print_final_stats=1 \
	    "$work/corpus-$name" "$here/seeds/$name" 2> "$work/log-$name"
}

# FUZZ_JOBS lanes, each a share of the fuzzers in turn.
rm -f "$work/failed"
lane=0
while [ "$lane" -lt "$jobs" ]; do
	(
		i=0
		for name in $fuzzers; do
			if [ $((i % jobs)) -eq "$lane" ]; then
				fuzz "$name" || echo "$name" >> "$work/failed"
			fi
			i=$((i + 1))
		done
	) &
	lane=$((lane + 1))
done
wait

for name in $fuzzers; do
	[ -f "$work/log-$name" ] || continue
	echo "run.sh: $name: $(grep -E '^stat::(number_of_executed_units|new_units_added)' \
	    "$work/log-$name" | sed 's/^stat::\([a-z_]*\): *\([0-9]*\)/\1 \2/' |
	    tr '\n' ' ')"
done
if [ -f "$work/failed" ]; then
	while read -r name; do
		echo "run.sh: $name failed:" >&2
		[ ! -f "$work/log-$name" ] || tail -n 60 "$work/log-$name" >&2
	done < "$work/failed"
	rm -f "$work/failed"
	exit 1
fi
