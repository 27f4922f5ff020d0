#!/usr/bin/env bats
# The bash and zsh completions read options and value words from --help.
# The first tests call the bash function with the words bash would hand
# it; the last ones type into real shells on a pseudo-terminal.

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

# shell_complete SHELL LINE: the command line after typing LINE and a TAB
# into an interactive SHELL.
shell_complete() {
	need_pty
	command -v "$1" >/dev/null || skip "$1 is not installed"
	local where=$BATS_TEST_DIRNAME/../completions
	[[ $1 == bash ]] && where=$where/dq
	run --separate-stderr python3 "$BATS_TEST_DIRNAME/complete.py" "$1" "$where" "$2"
	assert_success
	# No error from the completion function on the terminal.
	[[ $stderr != *_dq:* && $stderr != *"command not found"* ]] ||
		fail "$1 printed an error: $stderr"
}

@test "options come from the program's --help" {
	run complete_words dq-pick --mo
	assert_output --mode
	run complete_words dq-eligible --work
	assert_output --working-now
	run complete_words dq-explain --mem
	assert_output --member
}

@test "booleans complete in both forms, and yes or no after =" {
	run complete_words dq-eligible --no-a
	assert_output --no-auto-dispatch
	# As bash splits "--auto-dispatch=n" with = in COMP_WORDBREAKS.
	run complete_words dq-eligible --auto-dispatch = n
	assert_output no
}

@test "mode values complete after --mode, -m and in --mode= as bash splits it" {
	run complete_words dq-pick --mode ea
	assert_output earliest-slot
	run complete_words dq-pick -m ea
	assert_output earliest-slot
	run complete_words dq-pick --mode = le
	assert_output least-active
	# With = taken out of COMP_WORDBREAKS, the word stays whole.
	run complete_words dq-pick --mode=le
	assert_output --mode=least-active
}

@test "value words come from --help, not from a list in the completion" {
	cat >"$BATS_TEST_TMPDIR/dq-new" <<-'EOF'
	#!/bin/sh
	cat <<'END'
	usage: dq-new [options] [file ...]

	  -m, --mode MODE                  how to choose the owner (default fair):
	                                   fair, fastest or nearest
	      --sort KEY                   sort by KEY
	END
	EOF
	chmod +x "$BATS_TEST_TMPDIR/dq-new"
	run complete_words "$BATS_TEST_TMPDIR/dq-new" --mode ''
	assert_output "fair
fastest
nearest"
	run complete_words "$BATS_TEST_TMPDIR/dq-new" --sort ''
	assert_output ''
}

@test "no option that a program lacks: --tz completes nothing" {
	run complete_words dq-pick --tz
	assert_output ''
	run complete_words dq-pick --rules-tz Europe/Par
	assert_output Europe/Paris
}

@test "every program is registered" {
	run complete -p dq-eligible dq-pick dq-schedule dq-apply dq-fetch dq-watch dq-explain
	assert_success
	assert_line -n 0 "complete -F _dq dq-eligible"
	assert_equal "${#lines[@]}" 7
}

@test "the zsh completion names every program and parses" {
	run head -n 1 "$BATS_TEST_DIRNAME/../completions/_dq"
	assert_output "#compdef dq-eligible dq-pick dq-schedule dq-fetch dq-apply dq-watch dq-explain"
	command -v zsh >/dev/null || skip "zsh is not installed"
	run zsh -n "$BATS_TEST_DIRNAME/../completions/_dq"
	assert_success
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
	# An action has no --no- form.
	run complete_words dq-apply --no-appr
	assert_output ''
	run complete_words dq-watch --redispatch-on-s
	assert_output --redispatch-on-stall
	run complete_words dq-apply --format = c
	assert_output csv
	touch "$BATS_TEST_TMPDIR/dq.journal"
	run complete_words dq-apply --journal "$BATS_TEST_TMPDIR/dq.jo"
	assert_output "$BATS_TEST_TMPDIR/dq.journal"
	run complete_words dq-apply --credentials "$BATS_TEST_TMPDIR/dq.jo"
	assert_output "$BATS_TEST_TMPDIR/dq.journal"
}

@test "real bash: options, --mode=le and --target values complete on TAB" {
	shell_complete bash 'dq-pick --mode=le'
	assert_output 'dq-pick --mode=least-active '
	shell_complete bash 'dq-pick --ro'
	assert_output 'dq-pick --round-minutes '
	shell_complete bash 'dq-apply --target w'
	assert_output 'dq-apply --target webhook '
}

@test "real zsh: options, --mode=le, -m and file values complete on TAB" {
	# zsh adds the = of an option that takes a value.
	shell_complete zsh 'dq-pick --ro'
	assert_output 'dq-pick --round-minutes='
	shell_complete zsh 'dq-pick --mode=le'
	assert_output 'dq-pick --mode=least-active '
	shell_complete zsh 'dq-pick -m ea'
	assert_output 'dq-pick -m earliest-slot '
	shell_complete zsh 'dq-eligible --no-a'
	assert_output 'dq-eligible --no-auto-dispatch '
	touch "$BATS_TEST_TMPDIR/dq.journal"
	shell_complete zsh "dq-apply --journal $BATS_TEST_TMPDIR/dq.jo"
	assert_output "dq-apply --journal $BATS_TEST_TMPDIR/dq.journal "
}
