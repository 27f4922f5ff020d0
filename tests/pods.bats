#!/usr/bin/env bats
# pods.bats: --pods FILE, the pods CSV of dq-pods(5), in dq-eligible and
# dq-pick, and the whole SOP layer end to end.
#
# pods.csv puts Acme Corp in Pod A (Andrew Doe, Dana Lee, and "Andy Doe",
# whom the PSA does not know), Globex in Pod B (Grace Wu, and Finn Green,
# who is not on the Network Ops teams) and Initech in Pod C (Hai Nguyen,
# not on the Projects team).

setup() {
	load helper
	PODS="$BATS_TEST_TMPDIR/pods.csv"
}

# The pods file is the test's stdin.
pods() {
	cat > "$PODS"
}

eligible() {
	dq-eligible "$@" < "$FIXTURES/desk.ndjson"
}

# One line a ticket: id, pool, candidates, excluded (ids=why).
pools() {
	eligible "$@" | jq -r 'select(.kind == "ticket" and .eligible) |
	    [.id, .eligible.pool, (.eligible.candidates | join(",")),
	    (.eligible.excluded | map((.ids | join("+")) + "=" + .why) | join(","))] | join(" ")'
}

@test "a customer's pod is the pool; without pods, the board's" {
	run --separate-stderr pools --pods "$FIXTURES/pods.csv"
	assert_success
	assert_output - <<-'EOF'
	1001 pod:Pod A adoe dlee=at-capacity:3/3
	1002 pod:Pod B gwu fgreen=not-in-team
	1003 pod-fallback adoe,fgreen hnguyen=not-in-team
	1005 pod:Pod A adoe dlee=at-capacity:3/3
	EOF
	run --separate-stderr pools
	assert_output - <<-'EOF'
	1001 default-team adoe,eking bsmith=offline,cjones=archived,dlee=at-capacity:3/3
	1002 board-teams gwu,hnguyen 
	1003 default-team adoe,fgreen 
	1005 default-team adoe,eking bsmith=offline,cjones=archived,dlee=at-capacity:3/3
	EOF
}

@test "the pool keeps the board's team" {
	run eligible --pods "$FIXTURES/pods.csv" --quiet
	assert_success
	run field 1001 .eligible.team <<< "$output"
	assert_output '"10"'
}

@test "a name the PSA does not know is reported once and ignored" {
	run --separate-stderr pools --pods "$FIXTURES/pods.csv"
	assert_equal "$stderr" "dq-eligible: $FIXTURES/pods.csv:3: no member named \"Andy Doe\""
	run --separate-stderr pools --pods "$FIXTURES/pods.csv" --quiet
	assert_equal "$stderr" ''
}

@test "names match exactly: no case folding, no guessing" {
	pods <<-'EOF'
	pod,member,company
	Pod A,andrew doe,
	Pod A,Andrew,
	Pod A,,Acme Corp
	EOF
	run --separate-stderr pools --pods "$PODS"
	assert_line '1001 pod-fallback adoe,eking bsmith=offline,cjones=archived,dlee=at-capacity:3/3'
	assert_equal "$stderr" "dq-eligible: $PODS:2: no member named \"andrew doe\"
dq-eligible: $PODS:3: no member named \"Andrew\""
}

@test "two members of one name are reported and neither is taken" {
	jq -c 'if .id == "eking" then .name = "Andrew Doe" else . end' \
	    "$FIXTURES/desk.ndjson" > "$BATS_TEST_TMPDIR/desk.ndjson"
	run --separate-stderr bash -c 'dq-eligible --pods "$1" < "$2" > /dev/null' _ \
	    "$FIXTURES/pods.csv" "$BATS_TEST_TMPDIR/desk.ndjson"
	assert_success
	assert_equal "$stderr" "dq-eligible: $FIXTURES/pods.csv:2: 2 members are named \"Andrew Doe\"; none is taken
dq-eligible: $FIXTURES/pods.csv:3: no member named \"Andy Doe\""
}

@test "company names are checked when company records are present" {
	pods <<-'EOF'
	pod,member,company
	Pod A,Andrew Doe,Acme Crop
	Pod B,Grace Wu,Globex
	EOF
	run --separate-stderr bash -c 'cat "$1" "$2" | dq-eligible --pods "$3" |
	    jq -r "select(.kind == \"ticket\" and .eligible) | .id + \" \" + .eligible.pool"' _ \
	    "$FIXTURES/companies.ndjson" "$FIXTURES/desk.ndjson" "$PODS"
	assert_success
	assert_equal "$stderr" "dq-eligible: $PODS:2: no company named \"Acme Crop\""
	assert_output - <<-'EOF'
	1001 default-team
	1002 pod:Pod B
	1003 default-team
	1005 default-team
	EOF
}

@test "without company records, a pod's companies are taken as written" {
	pods <<-'EOF'
	pod,member,company
	Pod B,Grace Wu,Initech
	EOF
	run --separate-stderr pools --pods "$PODS"
	assert_equal "$stderr" ''
	assert_line '1003 pod-fallback adoe,fgreen gwu=not-in-team'
}

@test "a pod that leaves nobody eligible falls back to the board's pool" {
	pods <<-'EOF'
	pod,member,company
	Night,Beth Smith,Acme Corp
	Night,Carl Jones,
	EOF
	run pools --pods "$PODS"
	assert_line '1001 pod-fallback adoe,eking bsmith=offline,cjones=archived,dlee=at-capacity:3/3'
}

@test "columns come in any order and any case, after a byte order mark" {
	printf '\357\273\277TZ,Company,Member,POD\r\n,Globex,"Grace Wu",Pod B\r\n' > "$PODS"
	run --separate-stderr pools --pods "$PODS"
	assert_success
	assert_line '1002 pod:Pod B gwu '
}

@test "a row may leave trailing fields out; blank rows are skipped" {
	printf 'pod,member,company,hours,tz\nPod B,Grace Wu\n,,,,\n\nPod B,,Globex\n' > "$PODS"
	run --separate-stderr pools --pods "$PODS"
	assert_success
	assert_line '1002 pod:Pod B gwu '
}

# Hours and zones

# Eligibility with --working-now at 2026-11-23T15:00:00Z, a Monday.
working() {
	pools --working-now "$@" | grep '^1001 '
}

@test "pod hours override the member's for --working-now" {
	# Eve King works 09:00-13:00 and 14:00-18:00 in Kolkata: 20:30 now.
	run working
	assert_output '1001 default-team adoe bsmith=offline,cjones=archived,dlee=at-capacity:3/3,eking=outside-hours'
	pods <<-'EOF'
	pod,member,company,hours,tz
	Desk,Eve King,,mon-fri 14:00-16:00,UTC
	Desk,Andrew Doe,,"sat,sun 10:00-12:00",
	EOF
	run --separate-stderr working --pods "$PODS"
	assert_output '1001 default-team eking adoe=outside-hours,bsmith=offline,cjones=archived,dlee=at-capacity:3/3'
}

@test "a pod's hours that differ from the member's are reported once" {
	pods <<-'EOF'
	pod,member,company,hours,tz
	Desk,Eve King,,mon-fri 14:00-16:00,UTC
	Desk,Hai Nguyen,,mon-fri 14:00-16:00,UTC
	Desk,Andrew Doe,,mon-fri 08:00-17:00,America/New_York
	EOF
	# Hai Nguyen has no hours of his own and Andrew Doe the same ones:
	# neither is a conflict.
	run --separate-stderr eligible --pods "$PODS"
	assert_success
	assert_equal "$stderr" "dq-eligible: $PODS:2: hours of \"Eve King\" differ from the member record's; the pod's apply
dq-eligible: $PODS:2: tz of \"Eve King\" is UTC here but Asia/Kolkata in the member record; the pod's applies"
}

@test "a pod's zone alone moves the member's own hours" {
	# Andrew Doe's 08:00-17:00 read in Tokyo: midnight now.
	pods <<-'EOF'
	pod,member,tz
	Desk,Andrew Doe,Asia/Tokyo
	EOF
	run --separate-stderr working --pods "$PODS"
	assert_output '1001 default-team  adoe+eking=outside-hours,bsmith=offline,cjones=archived,dlee=at-capacity:3/3'
}

@test "pod hours decide the slot, in dq-pick and dq-schedule alike" {
	# Andrew Doe's own Monday 08:00-17:00 New York gives 15:10Z; the pod
	# moves him to 18:00-20:00 UTC.
	pods <<-'EOF'
	pod,member,hours,tz
	Desk,Andrew Doe,mon-fri 18:00-20:00,UTC
	EOF
	slot() {
		dq-eligible "$@" < "$FIXTURES/desk.ndjson" |
		    dq-pick --mode earliest-slot "$@" | dq-schedule "$@" |
		    field 1001 '[.dispatch.chosen, .dispatch.reason, .slot.start]'
	}
	run slot
	assert_output '["adoe","earliest-slot:2026-11-23T15:10:00Z","2026-11-23T15:10:00Z"]'
	run --separate-stderr slot --pods "$PODS" --quiet
	assert_output '["adoe","earliest-slot:2026-11-23T18:00:00Z","2026-11-23T18:00:00Z"]'
	# dq-schedule on its own books by the pod's hours too.
	run bash -c "dq-eligible < '$FIXTURES/desk.ndjson' | dq-pick |
	    dq-schedule --pods '$PODS' | field 1005 '[.dispatch.chosen, .slot.start]'"
	assert_output '["adoe","2026-11-23T18:00:00Z"]'
}

@test "the hours grammar: day lists, ranges, stretches, night shifts" {
	local ok=(
		'mon-fri 08:00-17:00'
		'Mon,Wed,Fri 8:00-12:00 13:00-17:00'
		'mon 14:00-14:30,14:45-16:00; tue-thu 09:00-17:00'
		'sun 22:00-16:00'
		'mon 00:00-24:00'
	)
	local h
	for h in "${ok[@]}"; do
		printf 'pod,member,hours,tz\nDesk,Eve King,"%s",UTC\n' "$h" > "$PODS"
		run --separate-stderr working --pods "$PODS" --quiet
		assert_success
		assert_output --regexp '^1001 default-team [^ ]*eking '
	done
	printf 'pod,member,hours,tz\nDesk,Eve King,"tue-sun 00:00-24:00",UTC\n' > "$PODS"
	run working --pods "$PODS" --quiet
	assert_output --partial 'eking=outside-hours'
}

# Errors: the file is read before any record

check() {
	dq-eligible --pods "$PODS" < /dev/null
}

@test "pods file errors name the file and line and exit 78" {
	local cases=(
		'pod,member,notes|1: unknown column "notes" (the columns are pod, member, company, hours and tz)'
		'pod,member,Member|1: column "member" given twice'
		'member,company|1: no "pod" column'
		'pod,hours|1: no "member" or "company" column'
		'|1: no header line (pod,member,company,hours,tz)'
		'pod,member\n,Eve King|2: no pod name'
		'pod,member\nA,Eve King,x|2: 3 fields, but the header names 2 columns'
		'pod,member,company,hours\nA,,Acme,mon 08:00-17:00|2: hours and tz belong to a member, and this row names none'
		'pod,member,hours\nA,Eve King,mon-fry 08:00-17:00|2: hours "mon-fry 08:00-17:00": expected days like mon-fri or sat,sun'
		'pod,member,hours\nA,Eve King,mon 8-17|2: hours "mon 8-17": expected a stretch like 08:00-17:00'
		'pod,member,hours\nA,Eve King,mon|2: hours "mon": expected a stretch like 08:00-17:00 after the days'
		'pod,member,hours\nA,Eve King,mon 24:00-08:00|2: hours "mon 24:00-08:00": expected a stretch like 08:00-17:00'
		'pod,member,hours\nA,Eve King,mon 08:60-09:00|2: hours "mon 08:60-09:00": expected a stretch like 08:00-17:00'
		'pod,member,tz\nA,Eve King,Mars/Olympus|2: unknown time zone "Mars/Olympus"'
		'pod,company\nA,Acme\nB,Acme|3: company "Acme" is already in pod "A" (line 2)'
		'pod,member,hours\nA,Eve King,mon 09:00-10:00\nB,Eve King,mon 10:00-11:00|3: hours for "Eve King" differ from those on line 2'
		'pod,member,tz\nA,Eve King,UTC\nB,Eve King,Asia/Kolkata|3: tz for "Eve King" differs from the one on line 2'
		'pod,member\nA,"Eve" King|2: malformed CSV: error parsing data while strict checking enabled'
		'pod,member\nA,"Eve King|2: malformed CSV: error parsing data while strict checking enabled'
	)
	local c
	for c in "${cases[@]}"; do
		printf "${c%%|*}" > "$PODS"
		run --separate-stderr check
		assert_failure 78
		assert_equal "$stderr" "dq-eligible: $PODS:${c#*|}"
	done
}

@test "the same member and company may repeat within a pod" {
	pods <<-'EOF'
	pod,member,company,hours
	A,Grace Wu,Globex,mon-fri 08:00-17:00
	A,Grace Wu,Globex,Mon-Fri 8:00-17:00
	B,Grace Wu,,
	EOF
	run --separate-stderr pools --pods "$PODS"
	assert_success
	assert_line '1002 pod:A gwu '
}

@test "a missing pods file is exit 66, in every program that reads it" {
	local p
	for p in dq-eligible dq-pick dq-schedule; do
		run --separate-stderr "$p" --pods "$BATS_TEST_TMPDIR/none" < /dev/null
		assert_failure 66
		assert_equal "$stderr" "$p: $BATS_TEST_TMPDIR/none: No such file or directory"
	done
}

@test "pods can come from a policy file" {
	printf 'pods = %s\n' "$FIXTURES/pods.csv" > "$BATS_TEST_TMPDIR/policy"
	run --separate-stderr pools --policy "$BATS_TEST_TMPDIR/policy"
	assert_line '1002 pod:Pod B gwu fgreen=not-in-team'
}

# dq-pick

@test "prefer pod: narrows to the pod's members, silently about names" {
	printf 'proj: board = Projects => prefer pod:"Pod A"\n' \
	    > "$BATS_TEST_TMPDIR/rules"
	run --separate-stderr bash -c 'dq-eligible < "$1" |
	    dq-pick --pods "$2" --rules "$3" | jq -c "select(.id == \"1003\") | .dispatch"' _ \
	    "$FIXTURES/desk.ndjson" "$FIXTURES/pods.csv" "$BATS_TEST_TMPDIR/rules"
	assert_success
	assert_equal "$stderr" ''
	assert_output --partial '"excluded":[{"why":"rule:proj:prefer","ids":["fgreen"]}],"chosen":"adoe","team":"20","reason":"rule:proj:prefer,round-robin"'
}

@test "prefer pod: names a pod the file lacks: warned at start, falls through" {
	printf 'proj: board = Projects => prefer pod:"Pod Z"\n' \
	    > "$BATS_TEST_TMPDIR/rules"
	run --separate-stderr bash -c 'dq-eligible < "$1" |
	    dq-pick --pods "$2" --rules "$3" | jq -r "select(.id == \"1003\") | .dispatch.reason"' _ \
	    "$FIXTURES/desk.ndjson" "$FIXTURES/pods.csv" "$BATS_TEST_TMPDIR/rules"
	assert_output 'rule:proj:target-ineligible,round-robin pick'
	assert_equal "$stderr" "dq-pick: $BATS_TEST_TMPDIR/rules:1:38: no pod \"Pod Z\" in the pods file"
}

@test "the pods file's content goes into the config digest" {
	config() {
		dq-eligible < "$FIXTURES/desk.ndjson" | dq-pick "$@" |
		    jq -r 'select(.id == "1002") | .dispatch.config'
	}
	cp "$FIXTURES/pods.csv" "$PODS"
	local one two plain
	one=$(config --pods "$PODS")
	echo 'Pod D,,Umbrella,,' >> "$PODS"
	two=$(config --pods "$PODS")
	plain=$(config)
	[ "$one" != "$two" ]
	[ "$one" != "$plain" ]
	[ "$(config --pods "$FIXTURES/pods.csv")" = "$one" ]
}

# End to end

# dq-eligible | dq-pick, one line a ticket: id, pool, outcome, chosen,
# reason.
pipeline() {
	dq-eligible "${@:2}" < "$FIXTURES/desk.ndjson" | dq-pick "$1" "${@:2}" |
	    jq -r 'select(.kind == "ticket") | [.id, (.eligible.pool // "-"),
	    .dispatch.outcome, (.dispatch.chosen // "-"), .dispatch.reason] | join(" ")'
}

@test "end to end: rules and pods together change who gets what" {
	run --separate-stderr pipeline --quiet
	assert_output - <<-'EOF'
	1001 default-team assigned eking round-robin
	1002 board-teams assigned hnguyen round-robin
	1003 default-team assigned fgreen round-robin
	1004 - skipped - already-owned
	1005 default-team assigned adoe round-robin
	EOF
	run --separate-stderr pipeline --rules="$FIXTURES/sop.rules" --quiet
	assert_output - <<-'EOF'
	1001 default-team assigned eking rule:p1:assign
	1002 board-teams assigned hnguyen round-robin
	1003 default-team assigned fgreen rule:projects:target-ineligible,round-robin pick
	1004 - skipped - already-owned
	1005 default-team assigned adoe round-robin
	EOF
	# The pods keep Eve King away from Acme, so the p1 rule falls
	# through; Globex goes to its pod; projects prefer Pod A.
	run --separate-stderr pipeline --rules="$FIXTURES/sop.rules" \
	    --pods "$FIXTURES/pods.csv"
	assert_output - <<-'EOF'
	1001 pod:Pod A assigned adoe rule:p1:target-ineligible,round-robin pick
	1002 pod:Pod B assigned gwu round-robin
	1003 pod-fallback assigned adoe rule:projects:prefer,round-robin
	1004 - skipped - already-owned
	1005 pod:Pod A assigned adoe round-robin
	EOF
	assert_equal "$stderr" "dq-eligible: $FIXTURES/pods.csv:3: no member named \"Andy Doe\""
}

@test "end to end: the same input gives the same bytes" {
	run bash -c 'for i in 1 2; do dq-eligible --pods "$1" -q < "$2" |
	    dq-pick --pods "$1" --rules "$3" 2>&1 | sha256sum; done | uniq | wc -l' _ \
	    "$FIXTURES/pods.csv" "$FIXTURES/desk.ndjson" "$FIXTURES/sop.rules"
	assert_output 1
}
