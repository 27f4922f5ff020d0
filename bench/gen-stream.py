#!/usr/bin/env python3
"""Write a large synthetic dq stream to stdout, for benchmarks.

usage: gen-stream.py --tickets N --members M [--entries-per-member K]
                     [--boards B] [--companies C] [--history H]
                     [--seed S] [--now TIME]

The stream has the shape dq-fetch writes (DESIGN section 2): one run
record, then the context sorted by kind and then id (board, company,
entry, history, member, team), then the tickets sorted by entered_at and
then id.  The same arguments always give the same bytes.

Members are spread over several IANA zones, teams and working-hour
patterns (day, split, early, late, weekend and night shifts); each has K
non-overlapping calendar entries within the 48 hours after TIME.  Every
board has exactly one default team, except that with three or more boards
the third board has none, so its pool is "board-teams".  Most tickets are
"New" and unowned; a few (about three per member) are owned, and those
are counted in their owner's "open" map.

Python 3 standard library only.
"""

import argparse
import json
import random
import signal
import sys
from datetime import datetime, timedelta, timezone

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEK = DAYS[:5]

BOARD_NAMES = ("Help Desk", "Projects", "Network Ops", "Security", "Onsite",
               "Alerts", "Cloud", "Procurement")
OPEN_STATUSES = ("New", "Assigned", "In Progress", "Waiting on Customer",
                 "Scheduled")
CLOSED_STATUSES = ("Completed", "Closed")
PRIORITIES = ("Priority 1 - Critical", "Priority 2 - High",
              "Priority 3 - Normal", "Priority 4 - Low")
PRIORITY_WEIGHTS = (3, 17, 60, 20)

# (zone, holidays) -- holidays are local dates of the region
ZONES = (
    ("America/New_York", ("2026-11-26", "2026-11-27", "2026-12-25")),
    ("America/Chicago", ("2026-11-26", "2026-11-27", "2026-12-25")),
    ("America/Denver", ("2026-11-26", "2026-12-25")),
    ("America/Los_Angeles", ("2026-11-26", "2026-11-27", "2026-12-25")),
    ("Europe/London", ("2026-12-25", "2026-12-28")),
    ("Europe/Berlin", ("2026-12-24", "2026-12-25", "2026-12-26")),
    ("Asia/Kolkata", ("2026-12-25",)),
    ("Australia/Sydney", ("2026-12-25", "2026-12-28")),
)
ZONE_WEIGHTS = (30, 15, 8, 12, 12, 5, 12, 6)

HOURS = (
    dict.fromkeys(WEEK, ["08:00", "17:00"]),
    dict.fromkeys(WEEK, [["08:00", "12:00"], ["13:00", "17:00"]]),
    dict.fromkeys(WEEK, ["07:00", "16:00"]),
    dict.fromkeys(WEEK, ["10:00", "19:00"]),
    dict(dict.fromkeys(WEEK, ["08:00", "16:30"]), sat=["09:00", "13:00"]),
    dict.fromkeys(("sun", "mon", "tue", "wed", "thu"), ["22:00", "06:00"]),
    dict.fromkeys(("mon", "tue", "wed", "thu"), ["07:00", "17:30"]),
    dict(dict.fromkeys(("tue", "wed", "thu", "fri"), ["09:00", "18:00"]),
         sat=["09:00", "18:00"]),
)
HOURS_WEIGHTS = (40, 15, 12, 10, 8, 5, 6, 4)

CAPABILITIES = ("m365", "network", "security", "printers", "backup",
                "firewall", "wifi", "windows", "macos", "hardware",
                "onboarding", "project", "migration", "cabling", "voip",
                "azure", "high", "urgent", "priority 1 - critical",
                "priority 2 - high")

# (type, subtype, item, summaries, extra labels)
TAXONOMY = (
    ("M365", "Outlook", "Password Prompt",
     ("Outlook keeps asking for password",
      "Outlook password prompt loop after MFA change"), ()),
    ("M365", "Outlook", "Calendar",
     ("Shared calendar not showing in Outlook",
      "Meeting invites not arriving"), ()),
    ("M365", "Exchange Online", "Mailbox Permissions",
     ("Shared mailbox access for new clerk",
      "Grant send-as on billing mailbox"), ()),
    ("M365", "Teams", "Audio",
     ("Teams calls choppy", "Teams audio cuts out on headset"), ("network",)),
    ("M365", "OneDrive", "Sync",
     ("OneDrive not syncing", "OneDrive stuck processing changes"), ()),
    ("Network", "VPN", "Disconnects",
     ("VPN drops every 10 minutes", "Site-to-site VPN down"), ()),
    ("Network", "Firewall", "Firmware",
     ("Firewall firmware upgrade", "Apply vendor advisory patch to firewall"),
     ("security",)),
    ("Network", "Wi-Fi", "Coverage",
     ("Wi-Fi dead zone in east wing", "Guest Wi-Fi not handing out addresses"),
     ()),
    ("Network", "Switching", "Port Down",
     ("Switch port flapping on IDF", "Uplink port err-disabled"), ()),
    ("Network", "Internet", "Outage",
     ("Entire office offline - no internet", "ISP circuit down"), ()),
    ("Hardware", "Printers", "Offline",
     ("Printer on 3rd floor offline", "Copier not reachable after move"),
     ("network",)),
    ("Hardware", "Printers", "Toner",
     ("Label printer printing blank labels", "Toner low warning on copier"),
     ()),
    ("Hardware", "Workstation", "Slow",
     ("PC very slow after Windows update", "Workstation freezing at login"),
     ()),
    ("Hardware", "Laptop", "Battery",
     ("Laptop battery swelling", "Laptop will not hold a charge"), ()),
    ("Security", "Phishing", "Reported Email",
     ("Suspicious email reported", "Phishing email with invoice attachment"),
     ()),
    ("Security", "Endpoint", "Alert",
     ("EDR alert - suspicious PowerShell", "Antivirus quarantined a file"), ()),
    ("Security", "MFA", "Reset",
     ("MFA reset - lost phone", "MFA prompts not arriving"), ()),
    ("Backup", "Veeam", "Job Failed",
     ("Backup job failed on file server", "Offsite copy job failing"), ()),
    ("Accounts", "Onboarding", "New Hire",
     ("New hire onboarding", "Set up accounts for new starter"), ()),
    ("Accounts", "Offboarding", "Terminated User",
     ("Offboard departing employee", "Disable accounts and forward mail"),
     ()),
    ("Accounts", "Password", "Reset",
     ("Password reset - account locked out", "User locked out after holiday"),
     ()),
    ("Software", "Line of Business", "Error",
     ("Line-of-business app crashes on launch", "Accounting app error 1603"),
     ()),
    ("Project", "Migration", "Server",
     ("Server 2016 to 2022 migration", "File server migration planning"), ()),
    ("Project", "Network", "Wi-Fi Upgrade",
     ("Warehouse Wi-Fi upgrade", "Replace access points in office"),
     ("network",)),
)
TAXONOMY_WEIGHTS = (9, 4, 4, 4, 4, 6, 2, 3, 2, 2, 6, 3, 5, 3, 5, 3, 4, 3, 4, 3,
                    6, 3, 2, 1)

FIRST = ("Andrew", "Manny", "Jamie", "Dana", "Ravi", "Sophie", "Marco",
         "Lena", "Tom", "Kayla", "Hiro", "Ben", "Emma", "Paul", "Aisha",
         "Chris", "Nina", "Omar", "Priya", "Lucas", "Zoë", "José", "Mei",
         "Sam", "Grace", "Ivan", "Fatima", "Noah", "Chloe", "Diego", "Hannah",
         "Kenji", "Olga", "Ruth", "Tariq", "Wendy")
LAST = ("Doe", "Chen", "Kowalski", "Patel", "Nguyen", "Garcia", "Okafor",
        "Brennan", "Williams", "Sato", "Miller", "Wright", "Fischer", "Gupta",
        "Ross", "Flores", "Haddad", "Iyer", "Silva", "Müller", "Novak",
        "Park", "Reyes", "Schmidt", "Tanaka", "Walsh", "Young", "Zimmerman",
        "Lopez", "Khan", "Berg", "Costa", "Dubois", "Evans", "Jensen")

CO_WORDS = ("Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne",
            "Northwind", "Contoso", "Fabrikam", "Tailspin", "Litware",
            "Adatum", "Proseware", "Wingtip", "Coho", "Lucerne", "Margie",
            "Alpine", "Blue Yonder", "Cedar", "Harbor", "Summit", "Granite",
            "Pioneer", "Riverside", "Keystone", "Beacon", "Sterling",
            "Evergreen", "Redwood")
CO_KINDS = ("Corp", "Legal", "Health", "Logistics", "Dental", "Traders",
            "Realty", "Manufacturing", "Accounting", "Schools", "Foods",
            "Insurance", "Labs", "Architects", "Credit Union", "Clinic")
SITES = ("HQ", "warehouse", "branch office", "front desk", "reception",
         "accounting", "2nd floor", "3rd floor", "dock 3", "east wing")


def fail(msg):
    sys.stderr.write("gen-stream.py: %s\n" % msg)
    sys.exit(64)


class Parser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        fail(message)


def positive(s):
    try:
        n = int(s, 10)
    except ValueError:
        raise argparse.ArgumentTypeError("not a number: %r" % s)
    if n < 0:
        raise argparse.ArgumentTypeError("must not be negative: %r" % s)
    return n


def rfc3339(s):
    try:
        t = datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        raise argparse.ArgumentTypeError(
            "not an RFC 3339 UTC time like 2026-11-23T15:00:00Z: %r" % s)
    return t.replace(tzinfo=timezone.utc)


class Clock:
    """Formats epoch seconds as RFC 3339 UTC, caching the date part."""

    def __init__(self):
        self.days = {}

    def fmt(self, t):
        d, s = divmod(t, 86400)
        p = self.days.get(d)
        if p is None:
            p = datetime.fromtimestamp(d * 86400, timezone.utc).strftime(
                "%Y-%m-%dT")
            self.days[d] = p
        h, s = divmod(s, 3600)
        m, s = divmod(s, 60)
        return "%s%02d:%02d:%02dZ" % (p, h, m, s)


ASCII = str.maketrans({"ü": "u", "ë": "e", "é": "e"})


def slug(s):
    out = []
    for c in s.lower().translate(ASCII):
        if c.isascii() and c.isalnum():
            out.append(c)
    return "".join(out)


def main():
    ap = Parser(description="Write a synthetic dq stream to stdout.")
    ap.add_argument("--tickets", type=positive, required=True, metavar="N")
    ap.add_argument("--members", type=positive, required=True, metavar="M")
    ap.add_argument("--entries-per-member", type=positive, default=4,
                    metavar="K")
    ap.add_argument("--boards", type=positive, default=3, metavar="B")
    ap.add_argument("--companies", type=positive, default=None, metavar="C",
                    help="default: tickets/100, at least 10, at most 2000")
    ap.add_argument("--history", type=positive, default=None, metavar="H",
                    help="closed tickets; default: tickets/4, at most 5000")
    ap.add_argument("--seed", type=int, default=1, metavar="S")
    ap.add_argument("--now", type=rfc3339,
                    default=rfc3339("2026-11-23T15:00:00Z"), metavar="TIME")
    a = ap.parse_args()
    if a.boards < 1:
        fail("--boards must be at least 1")
    if a.entries_per_member > 48 * 4:
        fail("--entries-per-member must be at most 192 (15-minute entries "
             "in 48 hours)")

    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    rng = random.Random(a.seed)
    clock = Clock()
    fmt = clock.fmt
    now = int(a.now.timestamp())
    now_s = fmt(now)
    out = sys.stdout.buffer
    buf = []

    def emit(rec):
        buf.append(json.dumps(rec, ensure_ascii=False,
                              separators=(",", ":")))
        if len(buf) >= 4096:
            flush()

    def flush():
        if buf:
            buf.append("")
            out.write("\n".join(buf).encode("utf-8"))
            buf.clear()

    # boards
    nb = a.boards
    boards = []
    for i in range(nb):
        name = BOARD_NAMES[i] if i < len(BOARD_NAMES) else "Board %d" % (i + 1)
        statuses = [{"name": s, "closed": False} for s in OPEN_STATUSES]
        statuses += [{"name": s, "closed": True} for s in CLOSED_STATUSES]
        num = i + 1
        boards.append({"kind": "board", "id": str(num), "name": name,
                       "statuses": statuses, "psa": {"id": num}})
    board_names = [b["name"] for b in boards]
    board_num = {b["name"]: b["psa"]["id"] for b in boards}
    board_weights = [max(1, 10 - 3 * i) for i in range(nb)]

    # teams: a default team per board (none for the third board), then
    # shared teams that serve one or two boards
    teams = []
    tid = 20
    for i, bname in enumerate(board_names):
        if i == 2:
            continue
        teams.append({"kind": "team", "id": str(tid), "name": bname + " Team",
                      "boards": [bname], "members": [], "default": True})
        tid += 1
    n_shared = max(2, a.members // 25)
    for k in range(n_shared):
        bl = rng.sample(board_names, min(nb, rng.choice((1, 2))))
        if k == 0 and nb >= 3:
            bl = [board_names[2]]  # the board without a default team
        bl.sort(key=board_names.index)
        teams.append({"kind": "team", "id": str(tid),
                      "name": "Tier %d" % (k + 2) if k < 3 else "Squad %d" % k,
                      "boards": bl, "members": [], "default": False})
        tid += 1
    if nb >= 3:
        # an after-hours team on the first and the third board
        teams.append({"kind": "team", "id": str(tid), "name": "After Hours",
                      "boards": [board_names[0], board_names[2]],
                      "members": [], "default": False})
        tid += 1
    nt = len(teams)
    board_teams = {b: [t for t in teams if b in t["boards"]]
                   for b in board_names}

    # companies
    nc = a.companies
    if nc is None:
        nc = min(2000, max(10, a.tickets // 100))
    nc = max(nc, 1)
    companies = []
    seen = set()
    combos = [(w, k) for w in CO_WORDS for k in CO_KINDS]
    rng.shuffle(combos)
    for i in range(nc):
        if i == 0:
            name = "Internal IT"
        elif i <= len(combos):
            name = "%s %s" % combos[i - 1]
        else:
            w, k = combos[i % len(combos)]
            name = "%s %s %d" % (w, k, i // len(combos) + 1)
        cid = slug(name)
        while cid in seen:
            cid += "x"
        seen.add(cid)
        companies.append({"kind": "company", "id": cid, "name": name})
    company_names = [c["name"] for c in companies]
    company_cum = []
    acc = 0.0
    for i in range(nc):
        acc += 0.2 if i == 0 else 1.0 / (i ** 0.8)
        company_cum.append(acc)

    # members
    members = []
    used = set()
    pairs = [(f, l) for f in FIRST for l in LAST]
    rng.shuffle(pairs)
    for i in range(a.members):
        f, l = pairs[i % len(pairs)]
        name = "%s %s" % (f, l)
        if i >= len(pairs):
            name += " %d" % (i // len(pairs) + 1)
        base = slug(f[0] + l) or "tech"
        mid = base
        n = 2
        while mid in used:
            mid = "%s%d" % (base, n)
            n += 1
        used.add(mid)
        tset = [teams[i % nt]["id"]]
        for t in rng.sample(teams, min(nt, rng.choice((0, 0, 1, 1, 2)))):
            if t["id"] not in tset:
                tset.append(t["id"])
        tset.sort(key=int)
        zone, hol = rng.choices(ZONES, ZONE_WEIGHTS)[0]
        hours = rng.choices(HOURS, HOURS_WEIGHTS)[0]
        holidays = list(hol)
        r = rng.random()
        today = a.now.date().isoformat()
        if r < 0.03:
            holidays.insert(0, today)
        elif r < 0.08:
            holidays.insert(0, {"date": today, "start": "13:00",
                                "end": "17:00"})
        status = rng.choices(("ONLINE", "BUSY", "OFFLINE"), (80, 12, 8))[0]
        maxc = rng.choice((0, 0, 0, 0, 0, 8, 10, 12, 15, 20))
        caps = sorted(rng.sample(CAPABILITIES, rng.randint(1, 5)))
        last = None
        if rng.random() > 0.1:
            last = fmt(now - rng.randrange(1, 7 * 86400))
        created = fmt(now - rng.randrange(30 * 86400, 8 * 365 * 86400))
        members.append({
            "kind": "member", "id": mid, "name": name, "teams": tset,
            "status": status, "archived": rng.random() < 0.02,
            "capabilities": caps, "max_concurrent": maxc, "open": {},
            "last_dispatched_at": last, "created_at": created, "tz": zone,
            "hours": hours, "holidays": holidays,
            "psa": {"id": 100 + i}})
    team_by_id = {t["id"]: t for t in teams}
    for m in members:
        for t in m["teams"]:
            team_by_id[t]["members"].append(m["id"])
    for t in teams:
        t["members"].sort()
    board_members = {}
    for b in board_names:
        ids = set()
        for t in board_teams[b]:
            ids.update(t["members"])
        board_members[b] = sorted(ids)

    # tickets: entered_at first, so ids follow arrival; owned tickets are
    # decided up front so the owners' open counts and entries agree
    nt_ = a.tickets
    span = 14 * 86400
    entered = sorted(now - 1 - rng.randrange(span) for _ in range(nt_))
    first_id = 10 ** max(5, len(str(nt_)))
    owned = {}
    owned_by = {}
    p_owned = min(0.08, 3.0 * a.members / max(1, nt_))  # about 3 each
    for i in range(nt_):
        if rng.random() >= p_owned:
            continue
        b = rng.choices(board_names, board_weights)[0]
        if not board_members[b]:
            continue
        mid = rng.choice(board_members[b])
        st = rng.choice(OPEN_STATUSES)
        owned[i] = (b, mid, st)
        owned_by.setdefault(mid, []).append(i)
    for m in members:
        o = {}
        for s in OPEN_STATUSES[1:]:
            n = rng.choice((0, 0, 0, 1, 1, 2))
            if n:
                o[s] = n
        for i in owned_by.get(m["id"], ()):
            s = owned[i][2]
            o[s] = o.get(s, 0) + 1
        if m["max_concurrent"] and rng.random() < 0.15:
            # at capacity: pad the active count up to the limit
            tot = sum(o.values())
            if tot < m["max_concurrent"]:
                o["In Progress"] = (o.get("In Progress", 0)
                                    + m["max_concurrent"] - tot)
        m["open"] = {s: o[s] for s in OPEN_STATUSES if s in o}

    # entries: K per member, one per equal share of the 48 hours after now
    entries = []
    k = a.entries_per_member
    eid = 1000000
    if k:
        seg = 48 * 60 // k
        for m in members:
            mine = owned_by.get(m["id"], [])
            base = (now // 900 + 1) * 900
            for j in range(k):
                dur = min(seg, rng.choice((30, 30, 60, 60, 90, 120, 240)))
                room = (seg - dur) // 15
                start = base + j * seg * 60 + rng.randint(0, room) * 900
                e = {"kind": "entry", "id": str(eid), "member": m["id"],
                     "start": fmt(start), "end": fmt(start + dur * 60)}
                if mine and rng.random() < 0.4:
                    e["ticket"] = str(first_id + rng.choice(mine))
                e["acknowledged"] = rng.random() < 0.9
                entries.append(e)
                eid += 1

    # history: closed tickets with ids below the open ones
    nh = a.history
    if nh is None:
        nh = min(5000, nt_ // 4)
    history = []
    mids = [m["id"] for m in members]
    for j in range(nh if mids else 0):
        ty, sub, item, sums, _ = rng.choices(TAXONOMY, TAXONOMY_WEIGHTS)[0]
        tk = str(first_id - nh + j)
        history.append({
            "kind": "history", "id": tk, "ticket": tk,
            "owner": rng.choice(mids),
            "board": rng.choices(board_names, board_weights)[0],
            "company": rng.choices(company_names, cum_weights=company_cum)[0],
            "type": ty, "subtype": sub, "item": item,
            "summary": rng.choice(sums),
            "closed_at": fmt(now - rng.randrange(3600, 90 * 86400)),
            "hours": rng.randint(1, 32) / 4})

    emit({"kind": "run", "id": "bench-%d-%s" % (a.seed, now_s), "now": now_s})
    ctx = boards + companies + entries + history + members + teams
    ctx.sort(key=lambda r: (r["kind"], r["id"]))
    for r in ctx:
        emit(r)
    del ctx, entries, history

    member_teams = {m["id"]: m["teams"] for m in members}
    choices = rng.choices
    rand = rng.random
    for i in range(nt_):
        t0 = entered[i]
        ty, sub, item, sums, extra = choices(TAXONOMY, TAXONOMY_WEIGHTS)[0]
        summary = sums[int(rand() * len(sums))]
        if rand() < 0.3:
            summary += " (%s)" % SITES[int(rand() * len(SITES))]
        labels = [ty.lower(), sub.lower(), item.lower()]
        labels.extend(extra)
        company = choices(company_names, cum_weights=company_cum)[0]
        prio = choices(PRIORITIES, PRIORITY_WEIGHTS)[0]
        own = owned.get(i)
        if own:
            b, owner, status = own
            mteams = member_teams[owner]
            team = next(t["id"] for t in board_teams[b] if t["id"] in mteams)
        else:
            b = choices(board_names, board_weights)[0]
            owner = None
            status = "New" if rand() < 0.85 else OPEN_STATUSES[
                1 + int(rand() * (len(OPEN_STATUSES) - 1))]
            team = None
            if rand() < 0.1 and board_teams[b]:
                bt = board_teams[b]
                team = bt[int(rand() * len(bt))]["id"]
        age = now - t0
        upd = t0 + (int(rand() * min(age, 2 * 86400)) if rand() < 0.3 else 0)
        tid_ = first_id + i
        emit({"kind": "ticket", "id": str(tid_), "summary": summary,
              "board": b, "status": status, "company": company,
              "priority": prio, "labels": labels, "type": ty, "subtype": sub,
              "item": item, "owner": owner, "team": team,
              "entered_at": fmt(t0), "updated_at": fmt(upd),
              "psa": {"id": tid_, "board_id": board_num[b]}})
    flush()
    out.flush()


if __name__ == "__main__":
    main()
