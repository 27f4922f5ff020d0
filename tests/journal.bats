#!/usr/bin/env bats
# The journal as its readers see it: dq-eligible --once, dq-pick --journal,
# torn and foreign lines, rotated files; and dq-apply's output formats and
# option errors, which need no PSA.

bats_require_minimum_version 1.5.0

setup() {
	load helper
	snapshot=$EXAMPLES/msp-snapshot.ndjson
	policy=$EXAMPLES/policy
	journal=$BATS_TEST_TMPDIR/journal
}

# The example's decisions under its policy.
decide() {
	dq-eligible -q -p "$policy" "$@" "$snapshot" | dq-pick -q -p "$policy"
}

# dq-eligible on the example with the default settings, which leave every
# unowned ticket eligible.
eligible() {
	dq-eligible "$@" "$snapshot"
}

# The reason dq-eligible gives ticket ID a skip, or "eligible".
reason_of() {
	jq -r --arg id "$1" 'select(.kind == "ticket" and .id == $id) |
		.dispatch.reason // "eligible"'
}

# A journal line: PHASE COMMIT RECORD.
journal_line() {
	jq -cn --arg phase "$1" --argjson commit "$2" --argjson record "$3" \
		'{kind: "journal", phase: $phase, run: "r", seq: 1,
		  at: "2026-11-23T15:00:00Z", wall: "2026-11-23T15:00:01Z",
		  commit: $commit, pid: 1, record: $record}'
}

@test "--once skips what a committed run dispatched, and only that" {
	decide | dq-apply --commit --target none --journal "$journal" >/dev/null
	dq-eligible -q -p "$policy" --once --journal "$journal" "$snapshot" >"$BATS_TEST_TMPDIR/again"
	# Assigned and team decisions are settled.
	for t in 48119 48113 48101 48121; do
		assert_equal "$t $(reason_of $t <"$BATS_TEST_TMPDIR/again")" "$t already-dispatched"
	done
	# Unassigned and held tickets were not dispatched: tried again.
	assert_equal "$(reason_of 48143 <"$BATS_TEST_TMPDIR/again")" eligible
	assert_equal "$(reason_of 48110 <"$BATS_TEST_TMPDIR/again")" eligible
	assert_equal "$(reason_of 48061 <"$BATS_TEST_TMPDIR/again")" status
	assert_equal "$(reason_of 48109 <"$BATS_TEST_TMPDIR/again")" "company-excluded:Internal IT"
	run bash -c "tickets <'$BATS_TEST_TMPDIR/again' | jq -r 'select(.dispatch.reason == \"already-dispatched\")' | jq -s length"
	assert_output 29
}

@test "--no-retry also settles the tickets left unassigned, and needs --journal" {
	decide | dq-apply --commit --target none --journal "$journal" >/dev/null
	dq-eligible -q -p "$policy" --no-retry --journal "$journal" "$snapshot" >"$BATS_TEST_TMPDIR/again"
	for t in 48119 48113 48101 48121 48143; do
		assert_equal "$t $(reason_of $t <"$BATS_TEST_TMPDIR/again")" "$t already-dispatched"
	done
	assert_equal "$(reason_of 48110 <"$BATS_TEST_TMPDIR/again")" eligible
	# A policy key too.
	printf 'retry = no\njournal = %s\n' "$journal" >"$BATS_TEST_TMPDIR/p"
	dq-eligible -q -p "$BATS_TEST_TMPDIR/p" "$snapshot" >"$BATS_TEST_TMPDIR/again"
	assert_equal "$(reason_of 48143 <"$BATS_TEST_TMPDIR/again")" already-dispatched
	run --separate-stderr dq-eligible --no-retry "$snapshot"
	assert_failure 64
	assert_equal "$stderr" "dq-eligible: --no-retry needs --journal
Try 'dq-eligible --help' for more information."
}

@test "--once: a dry run's lines and skipped outcomes never count" {
	t48119=$(tickets <"$snapshot" | jq -c 'select(.id == "48119")')
	t48124=$(tickets <"$snapshot" | jq -c 'select(.id == "48124")')
	{
		journal_line outcome false "$(jq -c '. + {dispatch: {outcome: "assigned"}, applied: {outcome: "applied"}}' <<<"$t48119")"
		journal_line outcome true "$(jq -c '. + {dispatch: {outcome: "skipped", reason: "auto-dispatch-off"}, applied: {outcome: "unchanged"}}' <<<"$t48124")"
	} >"$journal"
	run --separate-stderr eligible --once --journal "$journal"
	assert_equal "$(reason_of 48119 <<<"$output")" eligible
	assert_equal "$(reason_of 48124 <<<"$output")" eligible
}

@test "--once: a conflict or a failure does not settle a ticket" {
	t=$(tickets <"$snapshot" | jq -c 'select(.id == "48119")')
	{
		journal_line outcome true "$(jq -c '. + {dispatch: {outcome: "assigned"}, applied: {outcome: "conflict"}}' <<<"$t")"
		journal_line outcome true "$(jq -c '. + {dispatch: {outcome: "assigned"}, applied: {outcome: "failed"}}' <<<"$t")"
	} >"$journal"
	run --separate-stderr eligible --once --journal "$journal"
	assert_equal "$(reason_of 48119 <<<"$output")" eligible
	journal_line outcome true "$(jq -c '. + {dispatch: {outcome: "assigned"}, applied: {outcome: "unchanged"}}' <<<"$t")" >>"$journal"
	run --separate-stderr eligible --once --journal "$journal"
	assert_equal "$(reason_of 48119 <<<"$output")" already-dispatched
}

@test "--once: a later redispatch event resets a ticket; a cleared ticket is not skipped" {
	t=$(tickets <"$snapshot" | jq -c 'select(.id == "48119")')
	journal_line outcome true "$(jq -c '. + {dispatch: {outcome: "assigned"}, applied: {outcome: "applied"}}' <<<"$t")" >"$journal"
	journal_line event true '{"kind":"event","type":"ISSUE_STALLED","ticket":"48119","member":"dkowalski","clear":true}' >>"$journal"
	run --separate-stderr eligible --once --journal "$journal"
	assert_equal "$(reason_of 48119 <<<"$output")" eligible
	# An event that clears nothing changes nothing.
	journal_line outcome true "$(jq -c '. + {dispatch: {outcome: "assigned"}, applied: {outcome: "applied"}}' <<<"$t")" >"$journal"
	journal_line event true '{"kind":"event","type":"ISSUE_NOACK","ticket":"48119"}' >>"$journal"
	run --separate-stderr eligible --once --journal "$journal"
	assert_equal "$(reason_of 48119 <<<"$output")" already-dispatched
	# dq-watch cleared it in this stream: it goes out again.
	jq -c 'if .id == "48119" then . + {watch: {event: "ISSUE_STALLED", previous_owner: "dkowalski", clear: true}} else . end' "$snapshot" >"$BATS_TEST_TMPDIR/cleared"
	run bash -c "dq-eligible --once --journal '$journal' '$BATS_TEST_TMPDIR/cleared' | jq -r 'select(.id == \"48119\") | .eligible.pool'"
	assert_output default-team
}

@test "--once needs --journal; a missing journal is empty" {
	run --separate-stderr dq-eligible --once "$snapshot"
	assert_failure 64
	assert_equal "$stderr" "dq-eligible: --once needs --journal
Try 'dq-eligible --help' for more information."
	run --separate-stderr eligible --once --journal "$BATS_TEST_TMPDIR/none"
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(reason_of 48119 <<<"$output")" eligible
}

@test "rotated journals are read in turn; a torn last line is skipped with a warning" {
	t=$(tickets <"$snapshot" | jq -c 'select(.id == "48119")')
	u=$(tickets <"$snapshot" | jq -c 'select(.id == "48124")')
	journal_line outcome true "$(jq -c '. + {dispatch: {outcome: "assigned"}, applied: {outcome: "applied"}}' <<<"$t")" >"$journal.1"
	line=$(journal_line outcome true "$(jq -c '. + {dispatch: {outcome: "assigned"}, applied: {outcome: "applied"}}' <<<"$u")")
	printf '%s' "${line:0:80}" >"$journal"
	run --separate-stderr eligible --once --journal "$journal.1" --journal "$journal"
	assert_success
	assert_equal "$stderr" "dq-eligible: $journal: line 1: torn last line skipped"
	assert_equal "$(reason_of 48119 <<<"$output")" already-dispatched
	assert_equal "$(reason_of 48124 <<<"$output")" eligible
	# -q mutes the warning.
	run --separate-stderr eligible -q --once --journal "$journal"
	assert_equal "$stderr" ""
}

@test "a writer ends a torn line before its own, so every later line is whole" {
	printf '{"kind":"journal","phase":"outc' >"$journal"
	decide | dq-apply --commit --target none --journal "$journal" >/dev/null
	run head -n 1 "$journal"
	assert_output '{"kind":"journal","phase":"outc'
	assert_equal "$(tail -n +2 "$journal" | jq -c . | wc -l)" "$(tickets <"$snapshot" | wc -l)"
	# Readers skip the torn line in the middle, with a warning.
	run --separate-stderr eligible --once --journal "$journal"
	assert_equal "$stderr" "dq-eligible: $journal: line 1: not a journal line; skipped"
	assert_equal "$(reason_of 48119 <<<"$output")" already-dispatched
}

@test "dq-pick --journal: last_dispatched_at is the later of the record's and the journal's" {
	cat >"$BATS_TEST_TMPDIR/rr.ndjson" <<-'EOF'
	{"kind":"run","id":"r","now":"2026-11-23T15:00:00Z"}
	{"kind":"board","id":"1","name":"Desk","statuses":[{"name":"New","closed":false}]}
	{"kind":"member","id":"ann","name":"Ann","teams":["7"],"last_dispatched_at":"2026-11-23T09:00:00Z"}
	{"kind":"member","id":"bob","name":"Bob","teams":["7"],"last_dispatched_at":"2026-11-23T10:00:00Z"}
	{"kind":"team","id":"7","name":"Desk","boards":["Desk"],"members":["ann","bob"],"default":true}
	{"kind":"ticket","id":"1","board":"Desk","status":"New","owner":null,"team":null}
	EOF
	pick() {
		dq-eligible "$BATS_TEST_TMPDIR/rr.ndjson" | dq-pick --mode round-robin "$@" |
			jq -c 'select(.kind == "ticket") | [.dispatch.chosen, .dispatch.candidates]'
	}
	run pick
	assert_output '["ann",[{"id":"ann","score":"2026-11-23T09:00:00Z","active":0},{"id":"bob","score":"2026-11-23T10:00:00Z","active":0}]]'
	# The journal gave ann a ticket at 14:00: bob's turn. An older journal
	# entry for bob does not move him back.
	{
		journal_line outcome true '{"kind":"ticket","id":"9","dispatch":{"outcome":"assigned","chosen":"ann"},"applied":{"outcome":"applied"}}' |
			jq -c '.at = "2026-11-23T14:00:00Z"'
		journal_line outcome true '{"kind":"ticket","id":"8","dispatch":{"outcome":"assigned","chosen":"bob"},"applied":{"outcome":"applied"}}' |
			jq -c '.at = "2026-11-20T08:00:00Z"'
		# Neither a dry run nor a conflict gave anyone work.
		journal_line outcome false '{"kind":"ticket","id":"7","dispatch":{"outcome":"assigned","chosen":"bob"},"applied":{"outcome":"dry-run"}}' |
			jq -c '.at = "2026-11-23T14:30:00Z"'
		journal_line outcome true '{"kind":"ticket","id":"6","dispatch":{"outcome":"assigned","chosen":"bob"},"applied":{"outcome":"conflict"}}' |
			jq -c '.at = "2026-11-23T14:30:00Z"'
	} >"$journal"
	run pick --journal "$journal"
	assert_output '["bob",[{"id":"bob","score":"2026-11-23T10:00:00Z","active":0},{"id":"ann","score":"2026-11-23T14:00:00Z","active":0}]]'
}

@test "--format csv: one quoted row per ticket, formulas made text" {
	cat >"$BATS_TEST_TMPDIR/in" <<-'EOF'
	{"kind":"ticket","id":"1","summary":"=HYPERLINK(\"http://x\",\"click\")","board":"Desk","company":"+Acme, Inc.","psa":{"id":1},"dispatch":{"outcome":"assigned","chosen":"@ann","team":"-7","reason":"round-robin"}}
	{"kind":"ticket","id":"2","summary":"\tTab first","board":"Desk","company":"Plain","dispatch":{"outcome":"skipped","reason":"status"}}
	EOF
	run dq-apply --format csv --target none "$BATS_TEST_TMPDIR/in"
	assert_success
	assert_line -n 0 '"ticket","summary","board","company","decision","owner","team","slot_start","slot_end","reason","outcome","error"'
	assert_line -n 1 "\"1\",\"'=HYPERLINK(\"\"http://x\"\",\"\"click\"\")\",\"Desk\",\"'+Acme, Inc.\",\"assigned\",\"'@ann\",\"'-7\",\"\",\"\",\"round-robin\",\"dry-run\",\"\""
	assert_line -n 2 "\"2\",\"'	Tab first\",\"Desk\",\"Plain\",\"skipped\",\"\",\"\",\"\",\"\",\"status\",\"dry-run\",\"\""
	assert_equal "${#lines[@]}" 3
}

@test "--format table on a terminal by default: one row per ticket, no control characters" {
	printf '%s\n' '{"kind":"run","id":"r","now":"2026-11-23T15:00:00Z"}' \
		'{"kind":"ticket","id":"48113","summary":"Entire office offline - no internet at all","board":"Desk","psa":{"id":48113},"dispatch":{"outcome":"assigned","chosen":"adoe","team":"25","reason":"rule:vip-acme:assign"},"slot":{"member":"adoe","start":"2026-11-23T15:40:00Z","end":"2026-11-23T16:10:00Z"}}' \
		'{"kind":"ticket","id":"48101","summary":"Phish \u001b[31mred\nline","board":"Desk","psa":{"id":48101},"dispatch":{"outcome":"team","team":"40","reason":"rule:nights:team"}}' >"$BATS_TEST_TMPDIR/in"
	need_pty
	run script -qec "dq-apply '$BATS_TEST_TMPDIR/in'" /dev/null
	assert_success
	assert_line -n 0 --regexp '^TICKET +SUMMARY +DECISION +OWNER/TEAM +SLOT +APPLIED +REASON'
	assert_line -n 1 --regexp '^48113 +Entire office offline - no i\.\.\. assigned +adoe +11-23 15:40 +dry-run +rule:vip-acme:assign'
	assert_line -n 2 --regexp '^48101 +Phish  \[31mred line +team +team 40 +- +dry-run +rule:nights:team'
	refute_output --partial $'\e'
	# Not a terminal: NDJSON.
	run dq-apply "$BATS_TEST_TMPDIR/in"
	assert_line -n 0 '{"kind":"run","id":"r","now":"2026-11-23T15:00:00Z"}'
}

@test "the dry-run table fits the terminal, wraps the reason, aligns wide characters, names its zone and ends with totals" {
	printf '%s\n' '{"kind":"run","id":"r","now":"2026-11-23T15:00:00Z"}' \
		'{"kind":"ticket","id":"7","summary":"打印机坏了 printer down","board":"Desk","psa":{"id":7},"dispatch":{"outcome":"assigned","chosen":"adoe","team":"25","reason":"rule:network:prefer,least-active:3"},"slot":{"member":"adoe","start":"2026-11-23T15:40:00Z","end":"2026-11-23T16:10:00Z"}}' \
		'{"kind":"ticket","id":"8","summary":"plain","board":"Desk","psa":{"id":8},"dispatch":{"outcome":"skipped","reason":"company-not-included:A Very Long Company Name Inc"}}' >"$BATS_TEST_TMPDIR/in"
	need_pty
	# 80 columns from the terminal itself: COLUMNS unset.
	run env -u COLUMNS script -qec "stty cols 80 rows 24; dq-apply --tz America/New_York '$BATS_TEST_TMPDIR/in'" /dev/null
	assert_success
	run bash -c 'tr -d "\r" <<<"$1"' _ "$output"
	assert_line -n 0 'TICKET  SUMMARY  DECISION   OWNER/TEAM     SLOT        APPLIED   REASON'
	# Two columns for each Chinese character: DECISION starts where the
	# header's does; REASON wraps after a comma, colon or hyphen.
	assert_line -n 1 '7       打印...  assigned   adoe           11-23 10:40 dry-run   rule:network:'
	assert_line -n 2 '                                                                 prefer,least-'
	assert_line -n 3 '                                                                 active:3'
	assert_line -n 4 '8       plain    skipped    -              -           dry-run   company-not-'
	assert_line -n 5 '                                                                 included:A '
	assert_line '2 tickets: 1 assigned, 1 skipped.'
	assert_line 'Slot times are America/New_York time.'
	assert_line 'Dry run: nothing was written; add --commit to write these changes.'
	for l in "${lines[@]}"; do
		assert [ "$(printf '%s' "$l" | wc -L)" -le 80 ]
	done
	# COLUMNS wins, and TZ is the default zone.
	run env COLUMNS=140 TZ=Asia/Tokyo dq-apply --format table "$BATS_TEST_TMPDIR/in"
	assert_line -n 1 --regexp '^7 +打印机坏了 printer down +assigned +adoe +11-24 00:40 +dry-run +rule:network:prefer,least-active:3$'
	assert_line 'Slot times are Asia/Tokyo time (--tz ZONE for another zone).'
}

@test "dq-apply options: --commit only on the command line, targets and formats checked" {
	printf 'commit = yes\n' >"$BATS_TEST_TMPDIR/policy"
	run --separate-stderr dq-apply --policy "$BATS_TEST_TMPDIR/policy" </dev/null
	assert_failure 78
	assert_equal "$stderr" "dq-apply: $BATS_TEST_TMPDIR/policy: line 1: \"commit\" belongs on the command line"
	# The same file is refused by every stage: a shared policy never
	# turns a dry run into writes.
	run --separate-stderr dq-pick --policy "$BATS_TEST_TMPDIR/policy" </dev/null
	assert_failure 78
	run --separate-stderr dq-apply --target email </dev/null
	assert_failure 64
	assert_equal "${stderr_lines[0]}" 'dq-apply: --target: expected connectwise, webhook or none, not "email"'
	run --separate-stderr dq-apply --format xml </dev/null
	assert_failure 64
	assert_equal "${stderr_lines[0]}" 'dq-apply: --format: expected table, ndjson or csv, not "xml"'
	printf 'target = nowhere\n' >"$BATS_TEST_TMPDIR/policy"
	run --separate-stderr dq-apply --policy "$BATS_TEST_TMPDIR/policy" </dev/null
	assert_failure 78
	# Committing to ConnectWise needs its credentials, before any input.
	run --separate-stderr env -u DQ_CW_URL dq-apply --commit </dev/null
	assert_failure 78
	assert_equal "$stderr" "dq-apply: no ConnectWise site URL: set DQ_CW_URL or cw-url in a credentials file"
}

@test "a ticket that names no ConnectWise id cannot be written: exit 65" {
	printf '%s\n' '{"kind":"ticket","id":"1","status":"New","board":"Desk","dispatch":{"outcome":"assigned","chosen":"ann","reason":"round-robin"}}' >"$BATS_TEST_TMPDIR/in"
	run --separate-stderr dq-apply "$BATS_TEST_TMPDIR/in"
	assert_failure 65
	assert_equal "$stderr" "dq-apply: ticket 1: no psa.id: not a ConnectWise ticket"
	assert_equal "$(jq -c .applied <<<"$output")" '{"target":"connectwise","commit":false,"outcome":"dry-run","changes":[],"error":"no psa.id: not a ConnectWise ticket"}'
}

@test "a committed journal line of the wrong shape stops every reader with file and line (exit 65)" {
	t=$(tickets <"$snapshot" | jq -c 'select(.id == "48119")')
	journal_line outcome true "$(jq -c '. + {dispatch: {outcome: "assigned", chosen: "adoe"}, applied: {outcome: "applied", target: "webhook"}}' <<<"$t")" >"$journal"
	journal_line outcome true "$(jq -c '. + {dispatch: {outcome: "assigned", chosen: 5}, applied: {outcome: "applied", target: "webhook"}}' <<<"$t")" >>"$journal"
	msg="$journal: line 2: \"record.dispatch.chosen\" must be a string"
	run --separate-stderr dq-eligible --once --journal "$journal" "$snapshot"
	assert_failure 65
	assert_equal "$stderr" "dq-eligible: $msg"
	assert_output ""
	run --separate-stderr dq-pick --journal "$journal" "$snapshot"
	assert_failure 65
	assert_equal "$stderr" "dq-pick: $msg"
	run --separate-stderr dq-watch --journal "$journal" "$snapshot"
	assert_failure 65
	assert_equal "$stderr" "dq-watch: $msg"
	run --separate-stderr dq-apply --target none --commit --journal "$journal" "$snapshot"
	assert_failure 65
	assert_equal "$stderr" "dq-apply: $msg"
	# Each field any reader uses has its type; times are RFC 3339.
	for bad in '.commit = "yes"' '.seq = "1"' '.at = "noon"' '.record = []' \
		'.record.applied = "applied"' '.record.clear = 1' '.record.id = 48119'; do
		journal_line outcome true "$(jq -c '. + {dispatch: {outcome: "assigned", chosen: "adoe"}, applied: {outcome: "applied"}}' <<<"$t")" | jq -c "$bad" >"$journal"
		run --separate-stderr dq-eligible --once --journal "$journal" "$snapshot"
		assert_failure 65
		assert_regex "$stderr" "^dq-eligible: $journal: line 1: \""
	done
}

@test "the journal is created readable by its owner only, whatever the umask" {
	run bash -c "umask 000; dq-eligible -q -p '$policy' '$snapshot' | dq-pick -q -p '$policy' | dq-apply --commit --target none --journal '$journal' >/dev/null"
	assert_success
	assert_equal "$(stat -c %a "$journal")" 600
	# One that exists keeps the mode its owner gave it.
	chmod 640 "$journal"
	run bash -c "umask 000; dq-apply --commit --target none --journal '$journal' </dev/null"
	assert_success
	assert_equal "$(stat -c %a "$journal")" 640
}

@test "a journal line longer than 16 MiB stops its readers (exit 65)" {
	head -c $((17 << 20)) /dev/zero | tr '\0' ' ' >"$journal"
	run --separate-stderr eligible --once --journal "$journal"
	assert_failure 65
	assert_equal "$stderr" "dq-eligible: $journal: line 1: longer than 16 MiB"
	run --separate-stderr dq-pick --journal /dev/zero "$snapshot"
	assert_failure 65
	assert_equal "$stderr" "dq-pick: /dev/zero: line 1: longer than 16 MiB"
}

@test "a line over 16 MiB that another run appends while dq-apply runs stops it (exit 65)" {
	# Another run appends its line after dq-apply has read the journal
	# at its start and before it writes: the stream comes through a fifo,
	# and more of it than a pipe holds is taken only once dq-apply reads
	# its stream, which it does after reading the journal.
	: >"$journal"
	mkfifo "$BATS_TEST_TMPDIR/in"
	dq-apply --commit --target none --journal "$journal" \
		<"$BATS_TEST_TMPDIR/in" >/dev/null 2>"$BATS_TEST_TMPDIR/err" &
	pid=$!
	exec 8>"$BATS_TEST_TMPDIR/in"
	# Not fd 3, which is bats' own. dq-apply may stop before it has
	# read all of this: the writer must not die of SIGPIPE, which would
	# take the test's shell with it.
	( trap '' PIPE
	  for i in $(seq 1 2000); do
		echo "{\"kind\":\"note\",\"id\":\"$i\",\"text\":\"$(printf '%0200d' 0)\"}"
	  done >&8 ) 2>/dev/null || true
	{ printf '{"kind":"journal","phase":"event","run":"other","seq":1,"at":"2026-03-10T15:00:00Z","commit":true,"record":{"kind":"event","type":"X","ticket":"1","pad":"'
	  head -c $((17 << 20)) /dev/zero | tr '\0' x
	  printf '"}}\n'; } >>"$journal"
	exec 8>&-
	status=0
	wait "$pid" || status=$?
	assert_equal "$status" 65
	assert_equal "$(cat "$BATS_TEST_TMPDIR/err")" "dq-apply: $journal: line 1: longer than 16 MiB"
}
