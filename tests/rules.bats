#!/usr/bin/env bats
# rules.bats: dq-pick --rules, the SOP rules of dq-rules(5).
#
# desk.ndjson at 2026-11-23T15:00:00Z (a Monday): without rules, round
# robin gives 1001 to eking, 1002 to hnguyen, 1003 to fgreen and 1005 to
# adoe; 1004 is already owned.

setup() {
	load helper
	RULES="$BATS_TEST_TMPDIR/sop.rules"
}

# The rules file is the test's stdin.
rules() {
	cat > "$RULES"
}

# dq-eligible | dq-pick --rules on the desk, extra options to dq-pick.
pick() {
	dq-eligible < "$FIXTURES/desk.ndjson" | dq-pick --rules "$RULES" "$@"
}

# One line a ticket: id, outcome, chosen (or -), reason.
decisions() {
	pick "$@" | jq -r 'select(.kind == "ticket") | [.id, .dispatch.outcome,
	    (.dispatch.chosen // "-"), .dispatch.reason] | join(" ")'
}

# The decision of one ticket, compact.
dispatch_of() {
	local id=$1
	shift
	pick "$@" | field "$id" .dispatch
}

# Actions

@test "assign gives the ticket to an eligible member" {
	rules <<-'EOF'
	vip: company = "Acme Corp" => assign adoe
	EOF
	run decisions
	assert_success
	assert_output - <<-'EOF'
	1001 assigned adoe rule:vip:assign
	1002 assigned hnguyen round-robin
	1003 assigned fgreen round-robin
	1004 skipped - already-owned
	1005 assigned adoe rule:vip:assign
	EOF
}

@test "assign records the eligible candidates, the team and the config" {
	rules <<-'EOF'
	vip: company = "Acme Corp" => assign adoe
	EOF
	run dispatch_of 1001
	assert_success
	assert_output --regexp '^\{"mode":"ROUND_ROBIN","outcome":"assigned","candidates":\[\{"id":"adoe"\},\{"id":"eking"\}\],"ranked":2,"excluded":\[\],"chosen":"adoe","team":"10","reason":"rule:vip:assign","config":"sha256:[0-9a-f]{64}"\}$'
}

@test "assign to an ineligible member falls through to the mode" {
	rules <<-'EOF'
	to-beth: board = "Help Desk" => assign bsmith
	EOF
	run decisions
	assert_success
	assert_line '1001 assigned eking rule:to-beth:target-ineligible,round-robin pick'
	assert_line '1005 assigned adoe rule:to-beth:target-ineligible,round-robin pick'
	run decisions --mode least-active
	assert_line '1001 assigned adoe rule:to-beth:target-ineligible,least-active pick'
}

@test "assign to a member this run has filled falls through" {
	rules <<-'EOF'
	all-adoe: board = "Help Desk" => assign adoe
	EOF
	# Not counting waiting tickets, adoe has 2 active and eking 1; the
	# first assignment fills adoe up. dq-pick counts as dq-eligible did.
	local opts=(--max-active 3 --inactive-status "Waiting on Customer")
	dq-eligible "${opts[@]}" < "$FIXTURES/desk.ndjson" > "$BATS_TEST_TMPDIR/eligible"
	run bash -c "dq-pick --rules '$RULES' --max-active 3 < '$BATS_TEST_TMPDIR/eligible' | tickets | jq -r '[.id, .dispatch.outcome, (.dispatch.chosen // \"-\"), .dispatch.reason] | join(\" \")'"
	assert_success
	assert_line '1001 assigned adoe rule:all-adoe:assign'
	assert_line '1005 assigned eking rule:all-adoe:target-ineligible,round-robin pick'
	run bash -c "dq-pick --rules '$RULES' --max-active 3 < '$BATS_TEST_TMPDIR/eligible' | field 1005 .dispatch"
	assert_output --partial '"excluded":[{"why":"at-capacity:3/3","ids":["adoe"]}]'
}

@test "assign spreads in-run state like the mode does" {
	rules <<-'EOF'
	first: company = "Acme Corp" and status = New => assign adoe
	EOF
	# 1001 went to adoe by rule, so round robin now prefers eking.
	run decisions
	assert_line '1001 assigned adoe rule:first:assign'
	assert_line '1005 assigned eking round-robin'
}

@test "team sets the team only, by name or by id" {
	rules <<-'EOF'
	desk: board = "Help Desk" => team "Service Desk"
	proj: board = Projects => team 20
	EOF
	run decisions
	assert_line '1001 team - rule:desk:team'
	assert_line '1003 team - rule:proj:team'
	run dispatch_of 1001
	assert_output --partial '"outcome":"team","candidates":[],"ranked":0,"excluded":[],"chosen":null,"team":"10","reason":"rule:desk:team"'
}

@test "team that does not serve the ticket's board falls through" {
	rules <<-'EOF'
	wrong: board = "Help Desk" => team "Network A"
	EOF
	run decisions
	assert_line '1001 assigned eking rule:wrong:target-ineligible,round-robin pick'
}

@test "hold wants a human and keeps the text in note" {
	rules <<-'EOF'
	legal: summary ~* "PASSWORD|subpoena" => hold "legal review"
	EOF
	run dispatch_of 1001
	assert_success
	assert_output --partial '"outcome":"held","candidates":[],"ranked":0,"excluded":[],"chosen":null,"team":"10","reason":"rule:legal:hold","config":'
	assert_output --partial '"note":"legal review"}'
}

@test "exclude removes members and the mode picks among the rest" {
	rules <<-'EOF'
	no-eve: board = "Help Desk" => exclude eking, bsmith
	EOF
	run decisions
	assert_line '1001 assigned adoe rule:no-eve:exclude,round-robin'
	assert_line '1005 assigned adoe rule:no-eve:exclude,round-robin'
	run dispatch_of 1001
	assert_output --partial '"excluded":[{"why":"rule:no-eve:exclude","ids":["eking"]}]'
}

@test "exclude that leaves nobody leaves the ticket unassigned" {
	rules <<-'EOF'
	nobody: board = Projects => exclude adoe, fgreen
	EOF
	run decisions
	assert_line '1003 unassigned - rule:nobody:exclude,no-eligible-candidate'
}

@test "prefer capability narrows to those who have it" {
	rules <<-'EOF'
	mail: labels has outlook => prefer capability:Outlook
	EOF
	run decisions --mode capability-match
	assert_line '1001 assigned eking rule:mail:prefer,capability-match:2/3'
	run dispatch_of 1001 --mode capability-match
	assert_output --partial '"excluded":[{"why":"rule:mail:prefer","ids":["adoe"]}]'
}

@test "prefer that nobody eligible meets falls through to all" {
	rules <<-'EOF'
	network: labels has network => prefer capability:network
	EOF
	run decisions
	assert_line '1002 assigned hnguyen rule:network:target-ineligible,round-robin pick'
	run dispatch_of 1002
	assert_output --partial '"excluded":[]'
}

@test "mode switches the mode for the matching tickets" {
	rules <<-'EOF'
	p1: priority = "Priority 1 - Critical" => mode least-active
	EOF
	run decisions
	assert_line '1001 assigned adoe rule:p1:mode,least-active:3'
	assert_line '1002 assigned hnguyen round-robin'
	run dispatch_of 1001
	assert_output --partial '"mode":"LEAST_ACTIVE"'
}

@test "mode manual and default-team take the mode's outcome" {
	rules <<-'EOF'
	hands-off: board = Projects => mode manual
	desk: board = "Help Desk" => mode default-team
	EOF
	run decisions
	assert_line '1003 manual - rule:hands-off:mode,manual'
	assert_line '1001 team - rule:desk:mode,default-team'
}

@test "mode earliest-slot books the earliest slot for the matching tickets" {
	rules <<-'EOF'
	p1: priority = "Priority 1 - Critical" => mode earliest-slot
	EOF
	run decisions
	assert_line '1001 assigned adoe rule:p1:mode,earliest-slot:2026-11-23T15:10:00Z'
	assert_line '1002 assigned hnguyen round-robin'
	run dispatch_of 1001
	assert_output --partial '"mode":"EARLIEST_SLOT"'
	run bash -c "dq-eligible < '$FIXTURES/desk.ndjson' |
	    dq-pick --rules '$RULES' | dq-schedule | field 1001 .slot"
	assert_output '{"member":"adoe","start":"2026-11-23T15:10:00Z","end":"2026-11-23T15:40:00Z","buffer_minutes":10}'
}

# Order

@test "the first matching rule wins" {
	rules <<-'EOF'
	one: company = "Acme Corp" => hold first
	two: board = "Help Desk" => assign adoe
	EOF
	run decisions
	assert_line '1001 held - rule:one:hold'
	assert_line '1005 held - rule:one:hold'
	rules <<-'EOF'
	two: board = "Help Desk" => assign adoe
	one: company = "Acme Corp" => hold first
	EOF
	run decisions
	assert_line '1001 assigned adoe rule:two:assign'
}

@test "tickets no rule matches keep the mode's reason" {
	rules <<-'EOF'
	# nothing here is about Globex
	other: company = Umbrella => hold x
	EOF
	run decisions
	assert_output - <<-'EOF'
	1001 assigned eking round-robin
	1002 assigned hnguyen round-robin
	1003 assigned fgreen round-robin
	1004 skipped - already-owned
	1005 assigned adoe round-robin
	EOF
}

@test "skipped tickets are never judged by the rules" {
	rules <<-'EOF'
	all: not board = nothing => hold everything
	EOF
	run decisions
	assert_line '1004 skipped - already-owned'
}

# Conditions, each rule holding the ticket it matches

# Prints the ids of the tickets the condition holds for.
held() {
	printf 'c: %s => hold x\n' "$1" > "$RULES"
	shift
	pick "$@" | jq -r 'select(.dispatch.outcome == "held") | .id' |
	    tr '\n' ' '
}

@test "= and != compare exactly" {
	run held 'company = "Acme Corp"'
	assert_output '1001 1005 '
	run held 'company = "acme corp"'
	assert_output ''
	run held 'company != "Acme Corp"'
	assert_output '1002 1003 '
	run held 'board = Projects'
	assert_output '1003 '
}

@test "every string field can be compared" {
	run held 'priority = "Priority 2 - High"'
	assert_output '1002 '
	run held 'status = "Waiting on Customer"'
	assert_output '1005 '
	run held 'type = email and subtype = outlook and item = password'
	assert_output '1001 '
	run held 'summary = "Office move"'
	assert_output '1003 '
}

@test "a missing field reads as the empty string" {
	run held 'type = ""'
	assert_output '1002 1003 1005 '
	run held 'subtype != outlook'
	assert_output '1002 1003 1005 '
}

@test "team matches the ticket's team by id or by name" {
	jq -c 'if .id == "1005" then .team = "10" else . end' \
	    "$FIXTURES/desk.ndjson" > "$BATS_TEST_TMPDIR/desk.ndjson"
	FIXTURES=$BATS_TEST_TMPDIR
	run held 'team = 10'
	assert_output '1005 '
	run held 'team = "Service Desk"'
	assert_output '1005 '
	run held 'team ~ "^Serv"'
	assert_output '1005 '
}

@test "in and not in" {
	run held 'company in (Globex, Initech)'
	assert_output '1002 1003 '
	run held 'company not in (Globex, "Acme Corp")'
	assert_output '1003 '
}

@test "~ is a POSIX extended expression, ~* ignores case" {
	run held 'priority ~ "^Priority [12] "'
	assert_output '1001 1002 '
	run held 'summary ~ "(port|move)$"'
	assert_output '1003 '
	run held 'summary ~ "outlook"'
	assert_output ''
	run held 'summary ~* "outlook|SWITCH"'
	assert_output '1001 1002 '
}

@test "labels has, in any case" {
	run held 'labels has network'
	assert_output '1002 '
	run held 'labels has OUTLOOK'
	assert_output '1001 '
	run held 'not labels has network'
	assert_output '1001 1003 1005 '
}

@test "hour compares the hour of entered_at in --rules-tz" {
	# entered 14:00Z to 14:20Z: 09:00 to 09:20 in New York.
	run held 'hour = 14'
	assert_output '1001 1002 1003 1005 '
	run held 'hour < 14'
	assert_output ''
	run held 'hour <= 14 and hour >= 14'
	assert_output '1001 1002 1003 1005 '
	run held 'hour > 13'
	assert_output '1001 1002 1003 1005 '
	run held 'hour = 9' --rules-tz America/New_York
	assert_output '1001 1002 1003 1005 '
	run held 'hour in (8, 10)' --rules-tz America/New_York
	assert_output ''
	run held 'hour != 9' --rules-tz America/New_York
	assert_output ''
}

@test "weekday compares the day of entered_at in --rules-tz" {
	run held 'weekday = mon'
	assert_output '1001 1002 1003 1005 '
	run held 'weekday in (sat, sun)'
	assert_output ''
	# 14:00Z on Monday is 04:00 on Tuesday at UTC+14.
	run held 'weekday = Tue' --rules-tz Pacific/Kiritimati
	assert_output '1001 1002 1003 1005 '
	run held 'weekday not in (mon, tue)' --rules-tz Pacific/Kiritimati
	assert_output ''
}

@test "a ticket without entered_at fails every hour and weekday test" {
	jq -c 'if .id == "1003" then del(.entered_at) else . end' \
	    "$FIXTURES/desk.ndjson" > "$BATS_TEST_TMPDIR/desk.ndjson"
	FIXTURES=$BATS_TEST_TMPDIR
	run held 'hour >= 0'
	assert_output '1001 1002 1005 '
	run held 'not weekday in (mon, tue, wed, thu, fri, sat, sun)'
	assert_output '1003 '
}

@test "a malformed entered_at stops dq-pick (exit 65)" {
	# Broken after dq-eligible, which would stop there first.
	dq-eligible <"$FIXTURES/desk.ndjson" |
	    jq -c 'if .id == "1002" then .entered_at = "yesterday" else . end' \
	    >"$BATS_TEST_TMPDIR/eligible.ndjson"
	rules <<-'EOF'
	night: hour < 7 => hold night
	EOF
	run --separate-stderr dq-pick --rules "$RULES" <"$BATS_TEST_TMPDIR/eligible.ndjson"
	assert_failure 65
	assert_equal "$stderr" 'dq-pick: line 20: ticket 1002: "entered_at" is not an RFC 3339 time'
}

@test "not binds tighter than and, and and than or" {
	# Help Desk or (Projects and Nobody): the Help Desk tickets.
	run held 'board = "Help Desk" or board = Projects and company = Nobody'
	assert_output '1001 1005 '
	# (not Help Desk) and Globex.
	run held 'not board = "Help Desk" and company = Globex'
	assert_output '1002 '
	# not (Help Desk or Projects).
	run held 'not (board = "Help Desk" or board = Projects)'
	assert_output '1002 '
	run held '(board = "Help Desk" or board = Projects) and company = Initech'
	assert_output '1003 '
	run held 'not not company = Initech'
	assert_output '1003 '
}

@test "a condition may span lines" {
	rules <<-'EOF'
	acme:
	    company = "Acme Corp"   # the customer
	    and status = New
	    => hold "two lines"
	EOF
	run decisions
	assert_line '1001 held - rule:acme:hold'
	assert_line '1005 assigned eking round-robin'
}

@test "quoted values keep spaces, quotes and backslashes" {
	run held 'summary ~ "^Outlook asking\\b"'
	assert_output '1001 '
	rules <<-'EOF'
	q: company = "Acme Corp" => hold "say \"hi\" \\ bye"
	EOF
	run dispatch_of 1001
	assert_output --partial '"note":"say \"hi\" \\ bye"'
}

# Errors: the file is parsed before any record is read

# Runs dq-pick on the rules with no input: only the file can go wrong.
check() {
	dq-pick --rules "$RULES" < /dev/null
}

@test "parse errors name file, line and column and exit 78" {
	rules <<-'EOF'
	# comment
	ok: board = X => hold y

	bad: company = "Acme Corp" assign adoe
	EOF
	run --separate-stderr check
	assert_failure 78
	assert_equal "$stderr" "dq-pick: $RULES:4:28: expected \"=>\""
	assert_output ''
}

@test "each parse error says what was expected where" {
	local cases=(
		'x board = X => hold y|1:3: expected ":" after the rule id'
		'x: => hold y|1:4: expected a condition'
		'x: colour = red => hold y|1:4: unknown field "colour"; expected board, company, priority, status, type, subtype, item, team, summary, labels, hour or weekday'
		'x: compnay = X => hold y|1:4: unknown field "compnay"; did you mean "company"?'
		'x: board = X => asign bob|1:17: unknown action "asign"; did you mean "assign"?'
		'x: board X => hold y|1:10: expected an operator after "board"'
		'x: board < X => hold y|1:10: "<" does not apply to board'
		'x: labels = a => hold y|1:11: "=" does not apply to labels (use "has")'
		'x: company has a => hold y|1:12: "has" does not apply to company'
		'x: weekday > mon => hold y|1:12: ">" does not apply to weekday'
		'x: hour ~ "1" => hold y|1:9: "~" does not apply to hour'
		'x: hour = 24 => hold y|1:11: expected an hour from 0 to 23, not "24"'
		'x: hour in (1, x) => hold y|1:16: expected an hour from 0 to 23, not "x"'
		'x: weekday = monday => hold y|1:14: expected a weekday (mon, tue, wed, thu, fri, sat or sun), not "monday"'
		'x: board not = X => hold y|1:14: expected "in" after "not"'
		'x: board in X => hold y|1:13: expected "("'
		'x: board in (X, ) => hold y|1:17: expected a value'
		'x: board in (X => hold y|1:16: expected ")"'
		'x: (board = X => hold y|1:15: expected ")"'
		'x: board = => hold y|1:12: expected a value'
		'x: board = "X => hold y|1:12: unterminated string'
		'x: board = X => fly away|1:17: expected an action (assign, team, hold, exclude, prefer or mode)'
		'x: board = X => prefer team:a|1:24: expected "pod:" or "capability:"'
		'x: board = X => prefer pod:a, b|1:31: prefer takes one pod or capability'
		'x: board = X => mode fastest|1:22: unknown mode "fastest"; expected manual, default-team, round-robin, priority-match, capability-match, least-active or earliest-slot'
		'x: board = X => mode LEAST_ACTVE|1:22: unknown mode "LEAST_ACTVE"; did you mean "least-active"?'
		'x: board = X => hold y z|1:24: expected the end of the line after the action'
		'x: board = X and => hold y|1:18: expected a condition'
		'x: board = X; => hold y|1:13: unexpected ";"'
		'= board|1:1: expected a rule id'
	)
	local c
	for c in "${cases[@]}"; do
		printf '%s\n' "${c%%|*}" > "$RULES"
		run --separate-stderr check
		assert_failure 78
		assert_equal "$stderr" "dq-pick: $RULES:${c#*|}"
	done
}

@test "a rule id may be defined only once" {
	rules <<-'EOF'
	same: board = X => hold y
	same: board = Y => hold z
	EOF
	run --separate-stderr check
	assert_failure 78
	assert_equal "$stderr" "dq-pick: $RULES:2:1: rule \"same\" is already defined on line 1"
}

@test "a bad regular expression is a configuration error" {
	rules <<-'EOF'
	ok: summary ~ "fine"
	  => hold a
	bad: summary ~* "legal (hold" => hold b
	EOF
	run --separate-stderr check
	assert_failure 78
	assert_output ''
	assert_equal "$stderr" "dq-pick: $RULES:3:17: bad regular expression \"legal (hold\": Unmatched ( or \\("
}

@test "expressions that would exhaust regcomp are refused" {
	local cases=(
		'a++|a repetition may not follow another'
		'x+?|a repetition may not follow another'
		'x{2}*|a repetition may not follow another'
		'.{0,256}|a count above 255'
		'((a{20}){20}){20}|too large'
		'((((((((((((((((((((((((((((((((((a))))))))))))))))))))))))))))))))))|groups nest too deeply'
	)
	local c re shown
	for c in "${cases[@]}"; do
		re=${c%%|*}
		# Errors quote at most 32 bytes of a file's text.
		shown=$re
		((${#re} <= 32)) || shown="${re:0:32}..."
		printf 'x: summary ~ "%s" => hold y\n' "$re" > "$RULES"
		run --separate-stderr check
		assert_failure 78
		assert_equal "$stderr" "dq-pick: $RULES:1:14: bad regular expression \"$shown\": ${c#*|}"
	done
	printf 'x: summary ~ "%s" => hold y\n' '(a|b)*c{2,5}[]+]?.{0,255}\++' > "$RULES"
	run check
	assert_success
}

@test "nesting deeper than 64 is refused, not a crash" {
	printf 'deep: %s board = X %s => hold y\n' "$(printf '(%.0s' {1..70})" \
	    "$(printf ')%.0s' {1..70})" > "$RULES"
	run --separate-stderr check
	assert_failure 78
	assert_equal "$stderr" "dq-pick: $RULES:1:71: conditions nest more than 64 deep"
}

@test "a control character or NUL byte is an error" {
	printf 'x: board = X\001 => hold y\n' > "$RULES"
	run --separate-stderr check
	assert_failure 78
	assert_equal "$stderr" "dq-pick: $RULES:1:13: unexpected byte 0x01"
	printf 'x: board = "X\000" => hold y\n' > "$RULES"
	run --separate-stderr check
	assert_failure 78
	assert_equal "$stderr" "dq-pick: $RULES:1:12: control character in a string"
}

@test "a missing rules file is exit 66" {
	run --separate-stderr dq-pick --rules "$BATS_TEST_TMPDIR/none" < /dev/null
	assert_failure 66
	assert_equal "$stderr" "dq-pick: $BATS_TEST_TMPDIR/none: No such file or directory"
}

@test "an empty rules file, or one of comments, decides nothing" {
	printf '# no rules yet\n\n' > "$RULES"
	run decisions
	assert_success
	assert_line '1001 assigned eking round-robin'
}

@test "--rules-tz must be a known zone" {
	rules < /dev/null
	run --separate-stderr dq-pick --rules "$RULES" --rules-tz Mars/Olympus < /dev/null
	assert_failure 64
	assert_equal "${stderr_lines[0]}" 'dq-pick: --rules-tz: unknown time zone "Mars/Olympus"'
}

@test "rules and rules-tz can come from a policy file" {
	rules <<-'EOF'
	ny: hour = 9 => hold "New York morning"
	EOF
	printf 'rules = %s\nrules-tz = America/New_York\n' "$RULES" \
	    > "$BATS_TEST_TMPDIR/policy"
	run bash -c 'dq-eligible < "$1" | dq-pick --policy "$2" |
	    jq -r "select(.id == \"1001\") | .dispatch.reason"' _ \
	    "$FIXTURES/desk.ndjson" "$BATS_TEST_TMPDIR/policy"
	assert_output 'rule:ny:hold'
}

# Rules that can never match

@test "names the stream lacks are warned about once, at end of input" {
	rules <<-'EOF'
	a: company = "Acme Corp" => assign nobody
	b: company in (Globex, "Acme Crop") => exclude adoe, ghost
	c: board = Projects => team "After Hours"
	d: board = X => prefer pod:"Pod Z"
	EOF
	printf '%s\n' '{"kind":"company","id":"1","name":"Acme Corp"}' \
	    '{"kind":"company","id":"2","name":"Globex"}' \
	    > "$BATS_TEST_TMPDIR/companies.ndjson"
	run --separate-stderr bash -c 'cat "$1" "$2" | dq-eligible |
	    dq-pick --rules "$3" > /dev/null' _ \
	    "$BATS_TEST_TMPDIR/companies.ndjson" "$FIXTURES/desk.ndjson" "$RULES"
	assert_success
	assert_equal "$stderr" "dq-pick: $RULES:4:28: no pod \"Pod Z\" (no --pods file)
dq-pick: $RULES:1:36: no member with id \"nobody\"
dq-pick: $RULES:2:54: no member with id \"ghost\"
dq-pick: $RULES:2:24: no company named \"Acme Crop\"
dq-pick: $RULES:3:29: no team \"After Hours\""
}

@test "companies are not checked without company records, nor with --quiet" {
	rules <<-'EOF'
	b: company in (Globex, "Acme Crop") => exclude ghost
	EOF
	run --separate-stderr pick
	assert_equal "$stderr" "dq-pick: $RULES:1:48: no member with id \"ghost\""
	run --separate-stderr pick --quiet
	assert_equal "$stderr" ''
}

@test "a stream without tickets is not checked" {
	rules <<-'EOF'
	a: board = X => assign nobody
	EOF
	run --separate-stderr bash -c 'grep -v ticket "$1" | dq-pick --rules "$2"' _ \
	    "$FIXTURES/desk.ndjson" "$RULES"
	assert_success
	assert_equal "$stderr" ''
}

# Provenance

@test "the rules file's content goes into the config digest" {
	config() {
		pick "$@" | jq -r 'select(.id == "1002") | .dispatch.config'
	}
	rules <<-'EOF'
	a: board = X => hold y
	EOF
	local one two same plain
	one=$(config)
	rules <<-'EOF'
	a: board = Y => hold y
	EOF
	two=$(config)
	cp "$RULES" "$BATS_TEST_TMPDIR/elsewhere.rules"
	same=$(dq-eligible < "$FIXTURES/desk.ndjson" |
	    dq-pick --rules "$BATS_TEST_TMPDIR/elsewhere.rules" |
	    jq -r 'select(.id == "1002") | .dispatch.config')
	plain=$(dq-eligible < "$FIXTURES/desk.ndjson" | dq-pick |
	    jq -r 'select(.id == "1002") | .dispatch.config')
	[ "$one" != "$two" ]
	[ "$two" = "$same" ]
	[ "$two" != "$plain" ]
	[ "$(config --rules-tz UTC)" != "$two" ]
}

@test "--help lists the rules options" {
	run dq-pick --help
	assert_success
	# Lines wrap at 79 columns: the description goes on below.
	assert_line --regexp '^ +--rules FILE +apply the SOP rules in FILE before the mode$'
	assert_line --regexp '^ +\(dq-rules\(5\)\)$'
	assert_line --regexp '^ +--rules-tz ZONE +read the rules. hour and weekday in ZONE$'
	assert_line --regexp '^ +\(default UTC\)$'
	assert_line --regexp '^ +--pods FILE '
}
