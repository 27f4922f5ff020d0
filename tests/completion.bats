#!/usr/bin/env bats
# The bash completion reads options from --help and completes values.

setup() {
	load helper
	source "$BATS_TEST_DIRNAME/../completions/dq"
}

complete_words() {	# complete_words WORD...: the candidates for the last word
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	COMPREPLY=()
	_dq "$1"
	printf '%s\n' "${COMPREPLY[@]}"
}

@test "options come from the program's --help" {
	run complete_words dq-pick --mo
	assert_output --mode
	run complete_words dq-eligible --work
	assert_output --working-now
}

@test "booleans complete in both forms" {
	run complete_words dq-eligible --no-a
	assert_output --no-auto-dispatch
}

@test "mode values complete after --mode and in --mode=" {
	run complete_words dq-pick --mode ea
	assert_output earliest-slot
	run complete_words dq-pick --mode=le
	assert_output least-active
}

@test "every program is registered" {
	run complete -p dq-eligible dq-pick dq-schedule dq-apply
	assert_success
	assert_line -n 0 "complete -F _dq dq-eligible"
}

@test "the zsh completion names every program and parses" {
	run head -n 1 "$BATS_TEST_DIRNAME/../completions/_dq"
	assert_output --partial "dq-eligible dq-pick dq-schedule dq-fetch dq-apply"
	if command -v zsh >/dev/null; then
		run zsh -n "$BATS_TEST_DIRNAME/../completions/_dq"
		assert_success
	fi
}

@test "dq-apply: its options, their values and its files complete" {
	run complete_words dq-apply --stat
	assert_output --status-after
	run complete_words dq-apply --no-co
	assert_output --no-commit
	run complete_words dq-apply --target c
	assert_output connectwise
	run complete_words dq-apply --target w
	assert_output webhook
	run complete_words dq-apply --appr
	assert_output --approve
	run complete_words dq-watch --redispatch-on-s
	assert_output --redispatch-on-stall
	run complete_words dq-apply --format=c
	assert_output csv
	touch "$BATS_TEST_TMPDIR/dq.journal"
	run complete_words dq-apply --journal "$BATS_TEST_TMPDIR/dq.jo"
	assert_output "$BATS_TEST_TMPDIR/dq.journal"
	run complete_words dq-apply --credentials "$BATS_TEST_TMPDIR/dq.jo"
	assert_output "$BATS_TEST_TMPDIR/dq.journal"
}
