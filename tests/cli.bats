#!/usr/bin/env bats
# What every program owes its users: help, version, usage errors, output
# errors and quiet ends in pipelines.

setup() {
	load helper
}

programs() {
	echo dq-eligible dq-pick dq-schedule dq-watch dq-apply
}

@test "--help goes to stdout with exit 0 and shows the synopsis" {
	for p in $(programs); do
		run --separate-stderr "$p" --help
		assert_success
		assert_line -n 0 "usage: $p [options] [file ...]"
		assert_output --partial "--policy FILE"
		assert_equal "$stderr" ""
	done
}

@test "--version prints the package version" {
	for p in $(programs); do
		run "$p" --version
		assert_success
		assert_output --regexp "^$p \\(dq\\) [0-9]+\\.[0-9]+\\.[0-9]+$"
	done
}

@test "an unknown option is a usage error, exit 64" {
	for p in $(programs); do
		run --separate-stderr "$p" --frobnicate < /dev/null
		assert_failure 64
		assert_equal "$stderr" "$p: unknown option --frobnicate
Try '$p --help' for more information."
	done
}

@test "an option of another dq program is unknown on this one's command line" {
	run --separate-stderr dq-pick --company Acme < /dev/null
	assert_failure 64
	assert_equal "${stderr_lines[0]}" "dq-pick: unknown option --company (an option of dq-eligible)"
}

@test "a missing option value is a usage error" {
	run --separate-stderr dq-pick --mode < /dev/null
	assert_failure 64
	assert_equal "${stderr_lines[0]}" "dq-pick: option --mode needs a value"
}

@test "bad option values are usage errors naming the range" {
	run --separate-stderr dq-eligible --max-active=-3 < /dev/null
	assert_failure 64
	assert_equal "${stderr_lines[0]}" 'dq-eligible: --max-active: expected a whole number from 0 to 1000000, not "-3"'
	run --separate-stderr dq-pick --mode fastest < /dev/null
	assert_failure 64
	assert_equal "${stderr_lines[0]}" 'dq-pick: --mode: unknown mode "fastest"; expected manual, default-team, round-robin, priority-match, capability-match, least-active or earliest-slot'
	run --separate-stderr dq-pick --now tomorrow < /dev/null
	assert_failure 64
	assert_equal "${stderr_lines[0]}" 'dq-pick: --now: expected an RFC 3339 time like 2026-11-21T14:10:00Z, not "tomorrow"'
}

@test "a bad DQ_NOW is a usage error" {
	DQ_NOW=soon run --separate-stderr dq-pick < /dev/null
	assert_failure 64
	assert_equal "${stderr_lines[0]}" 'dq-pick: DQ_NOW: expected an RFC 3339 time, not "soon"'
}

@test "a full disk is exit 74 with a message" {
	for i in $(seq 1 100); do echo '{"kind":"note"}'; done > "$BATS_TEST_TMPDIR/notes"
	for p in $(programs); do
		run --separate-stderr bash -c "$p < '$BATS_TEST_TMPDIR/notes' > /dev/full"
		assert_failure 74
		assert_equal "$stderr" "$p: write error: No space left on device"
	done
}

@test "a reader that goes away ends the stage quietly by SIGPIPE" {
	big="$BATS_TEST_TMPDIR/big.ndjson"
	for i in $(seq 1 20000); do echo '{"kind":"note","text":"a line long enough to fill the pipe buffer quickly"}'; done > "$big"
	for p in $(programs); do
		run --separate-stderr bash -c "$p < '$big' | head -n 1 >/dev/null; echo \${PIPESTATUS[0]}"
		assert_output 141
		assert_equal "$stderr" ""
	done
}

@test "every option --help lists is described in the program's man page" {
	local p opt missing=""
	for p in $(programs) dq-fetch; do
		for opt in $("$p" --help | grep -o '^ *\(-., \)\?--[a-z-]*' |
		    sed 's/.*--//'); do
			grep -q -- "^\.It .*Fl \\\\-$opt\\b" "$DQ_SRCDIR/man/$p.1" ||
				missing="$missing $p:--$opt"
		done
	done
	assert_equal "$missing" ""
}

@test "every policy key is listed in dq-policy(5)" {
	local p key missing=""
	for p in $(programs) dq-fetch; do
		for key in $("$p" --help | grep -o '^ *\(-., \)\?--[a-z-]*' |
		    sed 's/.*--//'); do
			case $key in help|version|policy) continue ;; esac
			grep -q "^\.It Li .*\\b$key\\b" "$DQ_SRCDIR/man/dq-policy.5" ||
				missing="$missing $key"
		done
	done
	assert_equal "$missing" ""
}
