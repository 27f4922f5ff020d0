#!/bin/sh
# run.sh [SECONDS]: builds the rules and pods fuzzers with clang's
# libFuzzer, AddressSanitizer and UndefinedBehaviorSanitizer, and runs
# each for SECONDS (default 60), seeded with the test fixtures. Without
# clang or libFuzzer it says so and exits 0. A crash stops the run with
# libFuzzer's status and leaves crash-* files in the current directory.
set -eu

seconds=${1:-60}
case $seconds in
''|*[!0-9]*) echo "usage: run.sh [SECONDS]" >&2; exit 64 ;;
esac
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cc=${FUZZ_CC:-clang}

if ! command -v "$cc" >/dev/null 2>&1; then
	echo "run.sh: $cc not found: skipping the fuzzers (Debian: apt-get install clang)"
	exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' \
    > "$work/probe.c"
if ! "$cc" -fsanitize=fuzzer "$work/probe.c" -o "$work/probe" 2>/dev/null; then
	echo "run.sh: $cc cannot link libFuzzer: skipping the fuzzers"
	exit 0
fi

# The sources include <config.h>; the library needs only this of it.
cat > "$work/config.h" <<'CONFIG'
#define _GNU_SOURCE 1
#define PACKAGE_NAME "dq"
#define PACKAGE_VERSION "fuzz"
CONFIG
cflags="-g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
 -I$work -I$top/src $(pkg-config --cflags json-c)"
libs="$(pkg-config --libs json-c libcrypto) -lcsv -lm"

# The library as an archive, so that each fuzzer links only what it uses.
for src in "$top"/src/*.c; do
	case ${src##*/} in dq-*) continue ;; esac
	obj="$work/$(basename "$src" .c).o"
	# shellcheck disable=SC2086
	"$cc" $cflags -c "$src" -o "$obj"
done
ar rcs "$work/libdq.a" "$work"/*.o

for name in rules pods; do
	# shellcheck disable=SC2086
	"$cc" $cflags -fsanitize=fuzzer "$here/fuzz-$name.c" "$work/libdq.a" \
	    $libs -o "$work/fuzz-$name"
	mkdir "$work/corpus-$name"
	echo "run.sh: fuzzing the $name parser for $seconds seconds"
	# New inputs go to the first directory; the seeds stay untouched.
	"$work/fuzz-$name" -max_total_time="$seconds" -timeout=10 \
	    -dict="$here/$name.dict" -artifact_prefix="./crash-$name-" \
	    -print_final_stats=1 "$work/corpus-$name" "$here/seeds/$name" \
	    2> "$work/log-$name" || { tail -n 60 "$work/log-$name" >&2; exit 1; }
	grep -E '^stat::(number_of_executed_units|new_units_added)' "$work/log-$name"
done
