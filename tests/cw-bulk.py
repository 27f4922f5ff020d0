#!/usr/bin/env python3
"""cw-bulk.py: a copy of the emulator's data file with many more tickets,
for paging tests and the benchmark.

  cw-bulk.py IN.json OUT.json --open N [--closed M] [--now TIME]

Adds N open, unowned tickets on the boards in the data (New status) and M
tickets closed within the 30 days before TIME, owned by the team members,
all modelled on the data's first ticket.
"""

import argparse
import copy
import datetime as dt
import json


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--open", type=int, default=0)
    ap.add_argument("--closed", type=int, default=0)
    ap.add_argument("--now", default="2026-03-10T15:00:00Z")
    a = ap.parse_args()

    data = json.load(open(a.src))
    res = data["resources"]
    tickets = res["service/tickets"]
    model = tickets[0]
    now = dt.datetime.strptime(a.now, "%Y-%m-%dT%H:%M:%SZ")
    boards = res["service/boards"]
    owners = [m for m in res["system/members"] if not m.get("inactiveFlag")]
    next_id = 100000

    def stamp(t):
        return t.strftime("%Y-%m-%dT%H:%M:%SZ")

    for i in range(a.open):
        board = boards[i % len(boards)]
        status = res["service/boards/%d/statuses" % board["id"]][0]
        t = copy.deepcopy(model)
        t.update(id=next_id, summary="Bulk ticket %d" % i,
                 board={"id": board["id"], "name": board["name"]},
                 status={"id": status["id"], "name": status["name"]})
        entered = stamp(now - dt.timedelta(minutes=i + 1))
        t["_info"] = {"dateEntered": entered, "lastUpdated": entered}
        tickets.append(t)
        next_id += 1
    for i in range(a.closed):
        board = boards[i % len(boards)]
        closed = [s for s in res["service/boards/%d/statuses" % board["id"]]
                  if s.get("closedStatus")][0]
        owner = owners[i % len(owners)]
        t = copy.deepcopy(model)
        when = now - dt.timedelta(minutes=37 * (i + 1) % (29 * 24 * 60))
        t.update(id=next_id, summary="Closed bulk ticket %d" % i,
                 board={"id": board["id"], "name": board["name"]},
                 status={"id": closed["id"], "name": closed["name"]},
                 owner={"id": owner["id"], "identifier": owner["identifier"],
                        "name": owner["firstName"]},
                 closedFlag=True, closedDate=stamp(when), actualHours=1.0)
        t["_info"] = {"dateEntered": stamp(when - dt.timedelta(hours=2)),
                      "lastUpdated": stamp(when)}
        tickets.append(t)
        next_id += 1
    json.dump(data, open(a.dst, "w"))


main()
