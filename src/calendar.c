/* calendar.c: a member's free time, the earliest slot in it, and bookings.
 *
 * A slot (DESIGN §8) starts no earlier than now + --lead-minutes, keeps
 * --buffer-minutes from every entry on both sides, lies inside one
 * stretch of working hours, starts no later than now + --horizon-hours,
 * and starts on a multiple of --round-minutes of the member's own clock,
 * rounded up.
 *
 * The lead is a floor measured from now, not a gap added at the start of
 * every stretch: someone free now gets a slot lead minutes out; someone
 * whose working stretch starts later gets a slot at the stretch's start,
 * or lead minutes from now if the stretch starts sooner than that. After
 * an entry, the buffer is the gap, not the lead.
 *
 * Cost, for members holding k entries each, s working stretches in the
 * horizon, and tickets of c candidates: entries are appended as they
 * arrive and each member's list is sorted once, O(k log k); a member's
 * working spans are read from the zone database once per run, not once
 * per ticket; finding a slot, or the density, walks that member's spans
 * and entries once, O(k + s); a booking finds its place by bisection and
 * inserts it with one memmove. Picking and booking T tickets is thus
 * O(T c (k + s)): linear in each member's own entries, never quadratic in
 * all entries (2,000 members x 50 entries and 10,000 tickets: see
 * bench/calendar.sh).
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "dq.h"

/* A member's calendar: entry records and this run's bookings, and the
 * working spans of the horizon, read once per run. */
struct dq_calendar {
	struct dq_span *v;	/* entries, sorted by start once read */
	size_t n, cap;
	bool unsorted;
	bool have_work;		/* work was read, from hours in zone at from */
	struct dq_hours hours;	/* a copy: pods lend a member other hours */
	const char *zone;
	time_t from;
	struct dq_span *work;
	size_t nwork;
	long offset;		/* the zone's offset, when fixed over the window */
	bool offset_fixed;
};

struct dq_calendar *
dq_calendar_new(void)
{
	return xcalloc(1, sizeof(struct dq_calendar));
}

void
dq_calendar_free(struct dq_calendar *cal)
{
	if (!cal)
		return;
	free(cal->v);
	free(cal->work);
	free(cal);
}

static void
grow(struct dq_calendar *cal)
{
	if (cal->n < cal->cap)
		return;
	cal->cap = cal->cap ? 2 * cal->cap : 8;
	cal->v = xrealloc(cal->v, cal->cap * sizeof *cal->v);
}

void
dq_calendar_add(struct dq_calendar *cal, struct dq_span entry)
{
	grow(cal);
	if (cal->n > 0 && dq_span_cmp(&entry, &cal->v[cal->n - 1]) < 0)
		cal->unsorted = true;
	cal->v[cal->n++] = entry;
}

static void
sort_entries(struct dq_calendar *cal)
{
	if (cal->unsorted)
		qsort(cal->v, cal->n, sizeof *cal->v, dq_span_cmp);
	cal->unsorted = false;
}

void
dq_calendar_remove(struct dq_calendar *cal, struct dq_span entry)
{
	for (size_t i = 0; i < cal->n; i++) {
		if (cal->v[i].start == entry.start && cal->v[i].end == entry.end) {
			memmove(&cal->v[i], &cal->v[i + 1],
			    (cal->n - i - 1) * sizeof *cal->v);
			cal->n--;
			return;
		}
	}
}

void
dq_calendar_book(struct dq_calendar *cal, struct dq_span slot)
{
	size_t lo = 0, hi;

	sort_entries(cal);
	grow(cal);
	hi = cal->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (dq_span_cmp(&cal->v[mid], &slot) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	memmove(&cal->v[lo + 1], &cal->v[lo], (cal->n - lo) * sizeof *cal->v);
	cal->v[lo] = slot;
	cal->n++;
}

void
dq_calendar_forget_hours(struct dq_calendar *cal)
{
	free(cal->work);
	cal->work = NULL;
	cal->nwork = 0;
	cal->have_work = false;
	cal->zone = NULL;
}

static time_t
horizon_end(time_t now)
{
	return now + (time_t)dq_policy.horizon_hours * 3600;
}

static bool
same_hours(const struct dq_hours *a, const struct dq_hours *b)
{
	if (a->always != b->always || a->nholiday != b->nholiday ||
	    a->holiday != b->holiday)
		return false;
	for (int d = 0; d < 7; d++)
		if (a->nstretch[d] != b->nstretch[d] || memcmp(a->stretch[d],
		    b->stretch[d], (size_t)a->nstretch[d] * sizeof *a->stretch[d]))
			return false;
	return true;
}

/* The working spans from now to the last moment a slot can end, read
 * once per run: the zone database is slow to switch between members. */
static void
read_work(struct dq_calendar *cal, const struct dq_hours *h, const char *zone)
{
	time_t now = dq_now();
	time_t to = horizon_end(now) + (time_t)dq_policy.slot_minutes * 60;

	if (cal->have_work && cal->zone == zone && cal->from == now &&
	    same_hours(&cal->hours, h))
		return;
	free(cal->work);
	cal->nwork = dq_hours_spans(h, zone, now, to, &cal->work);
	cal->have_work = true;
	cal->hours = *h;
	cal->zone = zone;
	cal->from = now;
	/* A zone changes its offset at most once in a day or so: equal
	 * offsets at both ends mean none in between. */
	cal->offset = dq_zone_offset(zone, now);
	cal->offset_fixed = cal->offset == dq_zone_offset(zone, to);
}

/* t rounded up to a multiple of --round-minutes of the member's clock,
 * counted from local midnight (a step that does not divide the day
 * starts again there). */
static time_t
round_up(const struct dq_calendar *cal, time_t t)
{
	long step = dq_policy.round_minutes * 60;
	long off = cal->offset_fixed ? cal->offset : dq_zone_offset(cal->zone, t);
	long into = (long)(((t + off) % 86400 + 86400) % 86400);
	long up = (into + step - 1) / step * step;

	if (up > 86400)
		up = 86400;
	return t + (up - into);
}

/* Busy time: entries widened by pad on both sides and joined where they
 * meet, read in order of start. */
struct busy {
	const struct dq_span *v;
	size_t n, i;
	time_t pad;
	struct dq_span cur;
	bool have;
};

static void
busy_next(struct busy *b)
{
	b->have = b->i < b->n;
	if (!b->have)
		return;
	b->cur.start = b->v[b->i].start - b->pad;
	b->cur.end = b->v[b->i].end + b->pad;
	for (b->i++; b->i < b->n && b->v[b->i].start - b->pad <= b->cur.end; b->i++)
		if (b->v[b->i].end + b->pad > b->cur.end)
			b->cur.end = b->v[b->i].end + b->pad;
}

static struct busy
busy_start(const struct dq_calendar *cal, time_t pad)
{
	struct busy b = { cal->v, cal->n, 0, pad, { 0, 0 }, false };

	busy_next(&b);
	return b;
}

bool
dq_calendar_slot(struct dq_calendar *cal, const struct dq_hours *h,
    const char *zone, time_t from, struct dq_span *out)
{
	time_t now = dq_now(), last = horizon_end(now);
	time_t len = (time_t)dq_policy.slot_minutes * 60;
	time_t t = now + (time_t)dq_policy.lead_minutes * 60;
	struct busy b;

	read_work(cal, h, zone);
	sort_entries(cal);
	b = busy_start(cal, (time_t)dq_policy.buffer_minutes * 60);
	if (from > t)
		t = from;
	for (size_t i = 0; i < cal->nwork; i++) {
		const struct dq_span *w = &cal->work[i];

		if (t < w->start)
			t = w->start;
		for (;;) {
			t = round_up(cal, t);
			if (t > last)
				return false;
			if (t + len > w->end)
				break;	/* not in this stretch: try the next */
			while (b.have && b.cur.end <= t)
				busy_next(&b);
			if (!b.have || b.cur.start >= t + len) {
				out->start = t;
				out->end = t + len;
				return true;
			}
			t = b.cur.end;
		}
	}
	return false;
}

static time_t
overlap(struct dq_span a, time_t start, time_t end)
{
	if (a.start > start)
		start = a.start;
	if (a.end < end)
		end = a.end;
	return end > start ? end - start : 0;
}

long
dq_calendar_density(struct dq_calendar *cal, const struct dq_hours *h,
    const char *zone)
{
	time_t end = horizon_end(dq_now());
	long long working = 0, booked = 0;
	struct busy b;

	read_work(cal, h, zone);
	sort_entries(cal);
	b = busy_start(cal, 0);
	for (size_t i = 0; i < cal->nwork; i++) {
		time_t ws = cal->work[i].start;
		time_t we = cal->work[i].end < end ? cal->work[i].end : end;

		if (ws >= we)
			break;
		working += we - ws;
		while (b.have && b.cur.end <= ws)
			busy_next(&b);
		/* A block may reach into the next stretch: read on a copy. */
		for (struct busy c = b; c.have && c.cur.start < we; busy_next(&c))
			booked += overlap(c.cur, ws, we);
	}
	return working ? (long)((booked * 1000 + working / 2) / working) : 0;
}

/* The start an EARLIEST_SLOT decision chose for member: the chosen
 * candidate's slot, else the time in the reason (also after a rule's
 * prefix, "rule:x:prefer,earliest-slot:T"). */
static bool
chosen_start(json_object *dispatch, const char *member, time_t *out)
{
	static const char tag[] = "earliest-slot:";
	json_object *cands = dq_get(dispatch, "candidates");
	const char *reason = dq_get_str(dispatch, "reason"), *p, *last = NULL;

	for (size_t i = 0; json_object_is_type(cands, json_type_array) &&
	    i < json_object_array_length(cands); i++) {
		json_object *c = json_object_array_get_idx(cands, i);
		const char *id = dq_get_str(c, "id");

		if (id && !strcmp(id, member))
			return dq_time_parse(dq_get_str(dq_get(c, "slot"), "start"), out);
	}
	for (p = reason; p && (p = strstr(p, tag)); p += sizeof tag - 1)
		last = p;
	return last && dq_time_parse(last + sizeof tag - 1, out);
}

static bool
is(const char *s, const char *want)
{
	return s && !strcmp(s, want);
}

/* Whom a ticket needs a slot with: the chosen member of an assigned
 * ticket; with backfill, the owner of an owned ticket that no entry
 * names. NULL for every other ticket. */
static const char *
slot_member(struct dq_context *ctx, json_object *ticket, bool backfill)
{
	json_object *d = dq_get(ticket, "dispatch");
	const char *outcome = dq_get_str(d, "outcome");

	if (is(outcome, "assigned"))
		return dq_get_str(d, "chosen");
	if (!backfill || (d && !(is(outcome, "skipped") &&
	    is(dq_get_str(d, "reason"), "already-owned"))))
		return NULL;
	if (dq_ticket_has_entry(ctx, dq_get_str(ticket, "id")))
		return NULL;
	return dq_get_str(ticket, "owner");
}

/* A ticket booked before (it carries a slot) holds its slot in this
 * run's calendar too. */
static bool
keep_slot(struct dq_context *ctx, json_object *ticket)
{
	json_object *slot = dq_get(ticket, "slot");
	const char *member = dq_get_str(slot, "member");
	struct dq_span s;

	if (!slot)
		return false;
	if (member && dq_time_parse(dq_get_str(slot, "start"), &s.start) &&
	    dq_time_parse(dq_get_str(slot, "end"), &s.end))
		dq_ticket_book(ctx, dq_get_str(ticket, "id"), member, s);
	return true;
}

bool
dq_book_ticket(struct dq_context *ctx, const struct dq_pods *pods,
    json_object *ticket, bool backfill, struct dq_booking *out)
{
	struct dq_member *m;
	struct dq_calendar *cal;
	struct dq_hours hours;
	const char *zone;

	memset(out, 0, sizeof *out);
	if (keep_slot(ctx, ticket) ||
	    !(out->member = slot_member(ctx, ticket, backfill)))
		return false;
	if (!(m = dq_member_get(ctx, out->member)) ||
	    !dq_pods_hours(pods, m, &hours, &zone))
		return true;
	cal = dq_member_calendar(ctx, m->id);
	out->has_wanted = chosen_start(dq_get(ticket, "dispatch"), m->id,
	    &out->wanted);
	if (out->has_wanted) {
		out->found = dq_calendar_slot(cal, &hours, zone, out->wanted,
		    &out->slot) && out->slot.start == out->wanted;
		out->moved = !out->found;
	}
	if (!out->found)
		out->found = dq_calendar_slot(cal, &hours, zone, 0, &out->slot);
	if (out->found)
		dq_ticket_book(ctx, dq_get_str(ticket, "id"), m->id, out->slot);
	return true;
}
