#!/bin/sh
# calendar.sh: time dq-pick --mode earliest-slot | dq-schedule on a large
# stream: by default 2,000 members holding 50 calendar entries each, in
# teams of 100 on 20 boards, and 10,000 new tickets.
#
#   bench/calendar.sh [stream.ndjson]
#
# Without a stream one is generated (MEMBERS, ENTRIES, TICKETS, TEAM in
# the environment change its size). The programs are taken from
# $DQ_BUILDDIR/src when set, else from PATH.
set -eu

members=${MEMBERS:-2000}
entries=${ENTRIES:-50}
tickets=${TICKETS:-10000}
team=${TEAM:-100}
if [ -n "${DQ_BUILDDIR:-}" ]; then
	PATH="$DQ_BUILDDIR/src:$PATH"
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

if [ $# -gt 0 ]; then
	stream=$1
else
	stream=$tmp/stream.ndjson
	python3 - "$members" "$entries" "$tickets" "$team" > "$stream" <<'PY'
import json, random, sys
from datetime import datetime, timedelta, timezone

members, entries, tickets, team = map(int, sys.argv[1:])
rnd = random.Random(1)
now = datetime(2026, 11, 23, 14, 2, tzinfo=timezone.utc)
zones = ["America/New_York", "America/Chicago", "America/Los_Angeles",
         "Europe/London", "Europe/Berlin", "Asia/Kolkata", "Asia/Kathmandu",
         "Australia/Sydney", "UTC"]
day = ["08:00", "17:00"]
split = [["08:00", "12:00"], ["13:00", "17:00"]]
night = ["22:00", "06:00"]
weekdays = ["mon", "tue", "wed", "thu", "fri"]
nteams = (members + team - 1) // team

def out(rec):
    print(json.dumps(rec, separators=(",", ":")))

def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")

out({"kind": "run", "id": "bench", "now": iso(now)})
for b in range(nteams):
    out({"kind": "board", "id": str(b), "name": "Board %d" % b,
         "statuses": [{"name": "New", "closed": False}]})
n = 0
for m in range(members):
    for e in range(entries):
        start = now + timedelta(minutes=rnd.randrange(-7 * 1440, 7 * 1440, 5))
        n += 1
        out({"kind": "entry", "id": "e%d" % n, "member": "m%d" % m,
             "start": iso(start),
             "end": iso(start + timedelta(minutes=rnd.choice([15, 30, 60, 90]))),
             "ticket": "t%d" % n, "acknowledged": True})
for m in range(members):
    stretch = rnd.choice([day, day, split, night])
    out({"kind": "member", "id": "m%d" % m, "name": "Member %d" % m,
         "teams": [str(m // team)], "status": "ONLINE", "open": {},
         "created_at": iso(now - timedelta(days=m + 1)),
         "tz": zones[m % len(zones)],
         "hours": {d: stretch for d in weekdays}})
for t in range(nteams):
    out({"kind": "team", "id": str(t), "name": "Team %d" % t,
         "boards": ["Board %d" % t], "default": True,
         "members": ["m%d" % m for m in range(t * team, min(members, (t + 1) * team))]})
for i in range(tickets):
    out({"kind": "ticket", "id": str(100000 + i), "summary": "Bench ticket %d" % i,
         "board": "Board %d" % (i % nteams), "status": "New", "owner": None,
         "team": None, "entered_at": iso(now - timedelta(seconds=tickets - i))})
PY
fi

dq-eligible < "$stream" > "$tmp/eligible"
printf '%s: %s records, %s tickets\n' "$stream" "$(wc -l < "$stream")" \
    "$(grep -c '"kind":"ticket"' "$stream")"
start=$(date +%s.%N)
dq-pick --mode earliest-slot < "$tmp/eligible" | dq-schedule > "$tmp/out"
end=$(date +%s.%N)
printf 'dq-pick --mode earliest-slot | dq-schedule: %.2f s\n' \
    "$(echo "$end - $start" | bc)"
printf 'slots booked: %s, no-slot: %s\n' \
    "$(grep -c '"slot":{"member"' "$tmp/out" || true)" \
    "$(grep -c '"slot":{"error"' "$tmp/out" || true)"
