#!/usr/bin/env bats
# Policy files: every long option is a key; the command line wins.

setup() {
	load helper
	policy="$BATS_TEST_TMPDIR/policy"
	now=2026-11-23T15:00:00Z
}

modes_of() {
	tickets | jq -r '.dispatch.mode // .dispatch.reason'
}

@test "a policy file sets options; comments, blanks, quotes and -- prefixes are fine" {
	cat > "$policy" <<-'EOF2'
	# the help desk's policy
	trigger-status = New

	--mode: least-active
	board = "Help Desk"
	EOF2
	run bash -c "dq-eligible --policy '$policy' < '$FIXTURES/desk.ndjson' | dq-pick --policy '$policy' | jq -r 'select(.kind==\"ticket\") | .id + \" \" + (.dispatch.mode // .dispatch.reason)'"
	assert_success
	assert_output "1001 LEAST_ACTIVE
1002 board
1003 board
1004 already-owned
1005 status"
}

@test "DQ_POLICY names the policy file" {
	printf 'mode = manual\n' > "$policy"
	DQ_POLICY="$policy" run bash -c "dq-eligible < '$FIXTURES/desk.ndjson' | dq-pick | jq -r 'select(.kind==\"ticket\" and .id==\"1001\") | .dispatch.reason'"
	assert_output manual
}

@test "the command line overrides the file, and its list replaces the file's list" {
	printf 'mode = manual\ntrigger-status = Waiting on Customer\n' > "$policy"
	run bash -c "dq-eligible -p '$policy' --trigger-status New < '$FIXTURES/desk.ndjson' | dq-pick -p '$policy' --mode round-robin | jq -r 'select(.kind==\"ticket\") | .id + \" \" + .dispatch.reason'"
	assert_output "1001 round-robin
1002 round-robin
1003 round-robin
1004 already-owned
1005 status"
}

@test "repeated keys in a file add to a list" {
	printf 'trigger-status = New\ntrigger-status = Waiting on Customer\n' > "$policy"
	run bash -c "dq-eligible -p '$policy' < '$FIXTURES/desk.ndjson' | jq -r 'select(.kind==\"ticket\" and .id==\"1005\") | .eligible.pool'"
	assert_output default-team
}

@test "booleans: yes/no in files, --X/--no-X and --X no on the command line" {
	printf 'auto-dispatch = no\n' > "$policy"
	run bash -c "dq-eligible -p '$policy' < '$FIXTURES/desk.ndjson' | tickets | jq -r .dispatch.reason | sort -u"
	assert_output auto-dispatch-off
	run bash -c "dq-eligible -p '$policy' --auto-dispatch < '$FIXTURES/desk.ndjson' | tickets | jq -r '.dispatch.reason // \"judged\"' | sort -u"
	assert_output "already-owned
judged"
	run bash -c "dq-eligible --auto-dispatch no < '$FIXTURES/desk.ndjson' | tickets | jq -r .dispatch.reason | sort -u"
	assert_output auto-dispatch-off
	run bash -c "dq-eligible --no-auto-dispatch < '$FIXTURES/desk.ndjson' | tickets | jq -r .dispatch.reason | sort -u"
	assert_output auto-dispatch-off
	printf 'no-auto-dispatch\n' > "$policy"
	run bash -c "dq-eligible -p '$policy' < '$FIXTURES/desk.ndjson' | tickets | jq -r .dispatch.reason | sort -u"
	assert_output auto-dispatch-off
}

@test "a file a policy file names is found beside it; on the command line, here" {
	mkdir "$BATS_TEST_TMPDIR/desk"
	printf 'hold: company = "Acme Corp" => hold "ask first"\n' \
	    > "$BATS_TEST_TMPDIR/desk/sop.rules"
	printf 'rules = sop.rules\n' > "$BATS_TEST_TMPDIR/desk/policy"
	cd "$BATS_TEST_TMPDIR"
	run bash -c "dq-eligible < '$FIXTURES/desk.ndjson' |
	    dq-pick -p desk/policy | field 1001 .dispatch.reason"
	assert_output '"rule:hold:hold"'
	run --separate-stderr dq-pick --rules sop.rules < /dev/null
	assert_failure 66
	assert_equal "$stderr" "dq-pick: sop.rules: No such file or directory"
	printf 'rules = /nonexistent/sop.rules\n' > desk/policy
	run --separate-stderr dq-pick -p desk/policy < /dev/null
	assert_failure 66
	assert_equal "$stderr" "dq-pick: /nonexistent/sop.rules: No such file or directory"
}

@test "a key no dq program knows is exit 78 naming file and line" {
	printf '# ok\nmode = manual\nslot-minuets = 30\n' > "$policy"
	run --separate-stderr dq-pick -p "$policy" < /dev/null
	assert_failure 78
	assert_equal "$stderr" "dq-pick: $policy: line 3: unknown key \"slot-minuets\"; did you mean \"slot-minutes\"?"
}

@test "typos get help: the nearest key, option or value, else the list" {
	printf 'working-nwo = yes\n' > "$policy"
	run --separate-stderr dq-eligible -p "$policy" < /dev/null
	assert_failure 78
	assert_equal "$stderr" "dq-eligible: $policy: line 1: unknown key \"working-nwo\"; did you mean \"working-now\"?"
	printf 'no-wroking-now\n' > "$policy"
	run --separate-stderr dq-eligible -p "$policy" < /dev/null
	assert_failure 78
	assert_equal "$stderr" "dq-eligible: $policy: line 1: unknown key \"no-wroking-now\"; did you mean \"no-working-now\"?"
	printf 'colour = blue\n' > "$policy"
	run --separate-stderr dq-eligible -p "$policy" < /dev/null
	assert_failure 78
	assert_equal "$stderr" "dq-eligible: $policy: line 1: unknown key \"colour\" (the keys are listed in dq-policy(5))"
	printf 'mode = leastactive\n' > "$policy"
	run --separate-stderr dq-pick -p "$policy" < /dev/null
	assert_failure 78
	assert_equal "$stderr" "dq-pick: $policy: line 1: --mode: unknown mode \"leastactive\"; did you mean \"least-active\"?"
	run --separate-stderr dq-pick --mode least < /dev/null
	assert_failure 64
	assert_equal "${stderr_lines[0]}" 'dq-pick: --mode: unknown mode "least"; did you mean "least-active"?'
	run --separate-stderr dq-eligible --working-nwo < /dev/null
	assert_failure 64
	assert_equal "${stderr_lines[0]}" 'dq-eligible: unknown option --working-nwo; did you mean --working-now?'
	run --separate-stderr dq-pick --slot-minuets=20 < /dev/null
	assert_failure 64
	assert_equal "${stderr_lines[0]}" 'dq-pick: unknown option --slot-minuets=20; did you mean --slot-minutes?'
	run --separate-stderr dq-apply --target web < /dev/null
	assert_failure 64
	assert_equal "${stderr_lines[0]}" 'dq-apply: --target: expected connectwise, webhook or none, not "web"; did you mean "webhook"?'
	run --separate-stderr dq-apply --format tabel < /dev/null
	assert_failure 64
	assert_equal "${stderr_lines[0]}" 'dq-apply: --format: expected table, ndjson or csv, not "tabel"; did you mean "table"?'
}

@test "the default policy: \$XDG_CONFIG_HOME/dq/policy, else ~/.config/dq/policy" {
	mkdir -p "$XDG_CONFIG_HOME/dq" "$BATS_TEST_TMPDIR/home/.config/dq"
	printf 'mode = least-active\n' > "$XDG_CONFIG_HOME/dq/policy"
	printf 'mode = manual\n' > "$BATS_TEST_TMPDIR/home/.config/dq/policy"
	printf 'mode = earliest-slot\n' > "$policy"
	ask() { dq-eligible < "$FIXTURES/desk.ndjson" | dq-pick | modes_of | sort -u | head -1; }
	run ask
	assert_output LEAST_ACTIVE
	XDG_CONFIG_HOME= HOME=$BATS_TEST_TMPDIR/home run ask
	assert_output MANUAL_ONLY
	XDG_CONFIG_HOME=relative HOME=$BATS_TEST_TMPDIR/home run ask
	assert_output MANUAL_ONLY
	DQ_POLICY=$policy run ask
	assert_output EARLIEST_SLOT
	# DQ_POLICY set but empty: no policy file at all, the defaults.
	DQ_POLICY= run ask
	assert_output ROUND_ROBIN
	run dq-pick -p /dev/null < /dev/null
	assert_success
}

@test "a directory given as the policy is exit 66, never an empty policy" {
	run --separate-stderr dq-eligible -p "$BATS_TEST_TMPDIR" < /dev/null
	assert_failure 66
	assert_equal "$stderr" "dq-eligible: $BATS_TEST_TMPDIR: is a directory, not a policy file"
	DQ_POLICY=$BATS_TEST_TMPDIR run --separate-stderr dq-pick < /dev/null
	assert_failure 66
	assert_equal "$stderr" "dq-pick: $BATS_TEST_TMPDIR: is a directory, not a policy file"
	mkdir -p "$XDG_CONFIG_HOME/dq/policy"
	run --separate-stderr dq-pick < /dev/null
	assert_failure 66
	assert_equal "$stderr" "dq-pick: $XDG_CONFIG_HOME/dq/policy: is a directory, not a policy file"
}

@test "keys another dq program uses are ignored" {
	printf 'company = Acme Corp\nmode = manual\n' > "$policy"
	run dq-pick -p "$policy" < /dev/null
	assert_success
	printf 'company = Acme Corp\nmode = manual\n' > "$policy"
	run dq-eligible -p "$policy" < /dev/null
	assert_success
}

@test "a bad value in a file is exit 78 with file and line" {
	printf 'max-active = lots\n' > "$policy"
	run --separate-stderr dq-eligible -p "$policy" < /dev/null
	assert_failure 78
	assert_equal "$stderr" "dq-eligible: $policy: line 1: --max-active: expected a whole number from 0 to 1000000, not \"lots\""
	printf 'working-now = maybe\n' > "$policy"
	run --separate-stderr dq-eligible -p "$policy" < /dev/null
	assert_failure 78
	assert_equal "$stderr" "dq-eligible: $policy: line 1: --working-now: expected yes or no, not \"maybe\""
	printf 'board = "Help Desk\n' > "$policy"
	run --separate-stderr dq-eligible -p "$policy" < /dev/null
	assert_failure 78
	assert_equal "$stderr" "dq-eligible: $policy: line 1: unterminated quote"
}

@test "command-line-only keys are refused in a file" {
	printf 'policy = other\n' > "$policy"
	run --separate-stderr dq-pick -p "$policy" < /dev/null
	assert_failure 78
	assert_equal "$stderr" "dq-pick: $policy: line 1: \"policy\" belongs on the command line"
}

@test "a missing policy file is exit 66" {
	run --separate-stderr dq-pick -p "$BATS_TEST_TMPDIR/none" < /dev/null
	assert_failure 66
	assert_equal "$stderr" "dq-pick: $BATS_TEST_TMPDIR/none: No such file or directory"
}

@test "the clock: --now beats DQ_NOW beats the run record" {
	stream='{"kind":"run","id":"r","now":"2026-11-23T15:00:00Z"}
{"kind":"member","id":"m","status":"ONLINE","hours":{"mon":["09:00","10:00"]}}
{"kind":"team","id":"1","boards":["B"],"members":["m"],"default":true}
{"kind":"ticket","id":"1","board":"B"}'
	run bash -c "dq-eligible --working-now <<< '$stream' | tickets | jq -c .eligible.excluded"
	assert_output '[{"why":"outside-hours","ids":["m"]}]'
	run bash -c "DQ_NOW=2026-11-23T09:30:00Z dq-eligible --working-now <<< '$stream' | tickets | jq -c .eligible.candidates"
	assert_output '["m"]'
	run bash -c "DQ_NOW=2026-11-23T09:30:00Z dq-eligible --now 2026-11-23T11:00:00Z --working-now <<< '$stream' | tickets | jq -c .eligible.candidates"
	assert_output '[]'
}

@test "config digests the effective settings" {
	a=$(dq-eligible < "$FIXTURES/desk.ndjson" | dq-pick --mode least-active | tickets | jq -r 'select(.id=="1001") | .dispatch.config')
	b=$(dq-eligible < "$FIXTURES/desk.ndjson" | dq-pick --mode least-active --max-active 9 | tickets | jq -r 'select(.id=="1001") | .dispatch.config')
	c=$(printf 'mode = least-active\n' > "$policy"; dq-eligible < "$FIXTURES/desk.ndjson" | dq-pick -p "$policy" | tickets | jq -r 'select(.id=="1001") | .dispatch.config')
	assert_regex "$a" '^sha256:[0-9a-f]{64}$'
	assert [ "$a" != "$b" ]
	assert_equal "$a" "$c"
}

@test "no configuration file is unbounded: policy, rules, pods, zone map and credentials stop at 4 MiB (exit 78)" {
	# /dev/zero has no end and no newline: each stops, it does not hang.
	for args in "-p /dev/zero" "--rules /dev/zero" "--pods /dev/zero"; do
		run --separate-stderr dq-pick $args </dev/null
		assert_failure 78
		assert_equal "$stderr" "dq-pick: /dev/zero: larger than 4 MiB"
	done
	echo "rules = /dev/zero" >"$policy"
	run --separate-stderr dq-pick -p "$policy" </dev/null
	assert_failure 78
	assert_equal "$stderr" "dq-pick: /dev/zero: larger than 4 MiB"
	run --separate-stderr dq-fetch --connectwise --zone-map /dev/zero
	assert_failure 78
	assert_equal "$stderr" "dq-fetch: /dev/zero: larger than 4 MiB"
	# Many short lines count too.
	yes '# a comment' | head -c $(((4 << 20) + 1)) >"$policy"
	run --separate-stderr dq-pick -p "$policy" </dev/null
	assert_failure 78
	assert_equal "$stderr" "dq-pick: $policy: larger than 4 MiB"
	yes '# a comment' | head -c $((4 << 20)) | sed '$d' >"$policy"
	run --separate-stderr dq-pick -p "$policy" </dev/null
	assert_success
	cred=$BATS_TEST_TMPDIR/cred
	yes '# a comment' | head -c $(((4 << 20) + 1)) >"$cred"
	chmod 600 "$cred"
	run --separate-stderr dq-fetch --connectwise --credentials "$cred"
	assert_failure 78
	assert_equal "$stderr" "dq-fetch: $cred: larger than 4 MiB"
}

@test "a CSV import row longer than 16 MiB stops dq-fetch (exit 65)" {
	run --separate-stderr dq-fetch --csv-tickets /dev/zero
	assert_failure 65
	assert_equal "$stderr" "dq-fetch: /dev/zero: row 1: longer than 16 MiB"
}

@test "a file named by mistake is quoted by a short, printable excerpt at most" {
	secret='root:$6$AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefghijklmnop:19000:0:99999:7:::'
	printf '%s\ndaemon:*:19000:0:99999:7:::\n' "$secret" >"$BATS_TEST_TMPDIR/shadow"
	echo "pods = $BATS_TEST_TMPDIR/shadow" >"$policy"
	run --separate-stderr dq-eligible -p "$policy" </dev/null
	assert_failure 78
	assert_equal "$stderr" "dq-eligible: $BATS_TEST_TMPDIR/shadow:1: unknown column \"${secret:0:32}...\" (the columns are pod, member, company, hours and tz)"
	# Control bytes (a terminal escape) come out as '?'.
	printf 'pod,member,hours\nA,adoe,\033[2J\033]0;x\a\n' >"$BATS_TEST_TMPDIR/pods.csv"
	run --separate-stderr dq-eligible --pods "$BATS_TEST_TMPDIR/pods.csv" </dev/null
	assert_failure 78
	assert_equal "$stderr" "dq-eligible: $BATS_TEST_TMPDIR/pods.csv:2: hours \"?[2J?]0;x?\": expected days like mon-fri or sat,sun"
	# A rules file, and a policy given a file that is not one.
	printf 'r1: board = "x" => mode %s\n' "$secret" >"$BATS_TEST_TMPDIR/rules"
	run --separate-stderr dq-pick --rules "$BATS_TEST_TMPDIR/rules" </dev/null
	assert_failure 78
	refute_output --partial abcdefghijklmnop
	refute [ "${stderr/abcdefghijklmnop/}" != "$stderr" ]
	printf 'Qk9HVVNrZXkxMjM0NTY3ODkwYWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXo=\n' >"$policy"
	run --separate-stderr dq-pick -p "$policy" </dev/null
	assert_failure 78
	assert_equal "$stderr" "dq-pick: $policy: line 1: unknown key \"Qk9HVVNrZXkxMjM0NTY3ODkwYWJjZGVm...\" (the keys are listed in dq-policy(5))"
}
