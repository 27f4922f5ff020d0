/* The calendar: lead, buffers, stretches, horizon and rounding, in the
 * zones and on the days where they are easy to get wrong. */
#include <config.h>

#include <stdlib.h>

#include "dq.h"
#include "tap.h"

/* The defaults of DESIGN §8, at now. */
static void
reset(const char *now)
{
	dq_policy.now = at(now);
	dq_policy.now_set = true;
	dq_policy.slot_minutes = 30;
	dq_policy.buffer_minutes = 10;
	dq_policy.lead_minutes = 10;
	dq_policy.horizon_hours = 24;
	dq_policy.round_minutes = 5;
}

static void
entry(struct dq_calendar *cal, const char *start, const char *end)
{
	dq_calendar_add(cal, (struct dq_span){ at(start), at(end) });
}

/* The earliest slot's start, or NULL; the calendar is emptied after. */
static const char *
slot(struct dq_calendar **cal, const struct dq_hours *h, const char *zone)
{
	struct dq_span s;
	bool found = dq_calendar_slot(*cal, h, zone, 0, &s);

	dq_calendar_free(*cal);
	*cal = dq_calendar_new();
	return found ? utc(s.start) : NULL;
}

static void
test_lead(void)
{
	struct dq_hours always = hours(NULL, NULL);
	struct dq_calendar *cal = dq_calendar_new();

	reset("2026-11-23T14:02:00Z");
	is_str(slot(&cal, &always, NULL), "2026-11-23T14:15:00Z",
	    "free now: 10 minutes lead, then rounded up to 5");
	reset("2026-11-23T14:00:00Z");
	is_str(slot(&cal, &always, NULL), "2026-11-23T14:10:00Z",
	    "free now on the minute: exactly the lead");
	dq_policy.lead_minutes = 0;
	is_str(slot(&cal, &always, NULL), "2026-11-23T14:00:00Z", "no lead: now");
	dq_calendar_free(cal);
}

static void
test_not_free_now(void)
{
	struct dq_hours week = hours("{\"mon\":[\"08:00\",\"17:00\"],"
	    "\"tue\":[\"08:00\",\"17:00\"]}", NULL);
	struct dq_calendar *cal = dq_calendar_new();
	const char *ny = "America/New_York";

	reset("2026-11-23T12:00:00Z");
	is_str(slot(&cal, &week, ny), "2026-11-23T13:00:00Z",
	    "before the day: the stretch's start, 08:00 EST, no lead added");
	reset("2026-11-23T12:55:00Z");
	is_str(slot(&cal, &week, ny), "2026-11-23T13:05:00Z",
	    "a stretch starting within the lead: now + lead");
	reset("2026-11-23T22:30:00Z");
	is_str(slot(&cal, &week, ny), "2026-11-24T13:00:00Z",
	    "after hours: the next day's start");
	reset("2026-11-23T21:45:00Z");
	is_str(slot(&cal, &week, ny), "2026-11-24T13:00:00Z",
	    "too late for a slot today (16:55 + 30 > 17:00)");
	dq_calendar_free(cal);
}

static void
test_dst(void)
{
	struct dq_hours sunday = hours("{\"sun\":[\"08:00\",\"17:00\"]}", NULL);
	struct dq_hours night = hours("{\"sat\":[\"22:00\",\"06:00\"]}", NULL);
	struct dq_calendar *cal = dq_calendar_new();
	const char *ny = "America/New_York";

	reset("2026-03-08T05:00:00Z");
	is_str(slot(&cal, &sunday, ny), "2026-03-08T12:00:00Z",
	    "8 March 2026: 08:00 is EDT, 12:00Z");
	reset("2026-11-01T04:30:00Z");
	is_str(slot(&cal, &sunday, ny), "2026-11-01T13:00:00Z",
	    "1 November 2026: 08:00 is EST, 13:00Z");

	/* A night shift across spring forward: 22:00 EST to 06:00 EDT. */
	reset("2026-03-08T02:00:00Z");
	entry(cal, "2026-03-08T03:00:00Z", "2026-03-08T06:50:00Z");
	is_str(slot(&cal, &night, ny), "2026-03-08T07:00:00Z",
	    "after 01:50 EST and the buffer comes 03:00 EDT");
	reset("2026-03-08T02:00:00Z");
	entry(cal, "2026-03-08T03:00:00Z", "2026-03-08T09:25:00Z");
	is_str(slot(&cal, &night, ny), NULL,
	    "the shift ends at 06:00 EDT (10:00Z): no room after 05:35");
	/* And across fall back: 22:00 EDT to 06:00 EST, nine hours. */
	reset("2026-11-01T01:00:00Z");
	entry(cal, "2026-11-01T02:00:00Z", "2026-11-01T10:20:00Z");
	is_str(slot(&cal, &night, ny), "2026-11-01T10:30:00Z",
	    "the fall-back night shift ends at 11:00Z");
	dq_hours_free(&sunday);
	dq_hours_free(&night);
	dq_calendar_free(cal);
}

static void
test_half_hour_zones(void)
{
	struct dq_hours day = hours("{\"mon\":[\"09:00\",\"18:00\"]}", NULL);
	struct dq_calendar *cal = dq_calendar_new();

	reset("2026-11-23T03:00:00Z");
	is_str(slot(&cal, &day, "Asia/Kolkata"), "2026-11-23T03:30:00Z",
	    "Kolkata 09:00 is 03:30Z");
	is_str(slot(&cal, &day, "Asia/Kathmandu"), "2026-11-23T03:15:00Z",
	    "Kathmandu 09:00 is 03:15Z");
	dq_policy.round_minutes = 60;
	dq_policy.now = at("2026-11-23T03:31:00Z");
	is_str(slot(&cal, &day, "Asia/Kolkata"), "2026-11-23T04:30:00Z",
	    "rounding to the hour is to Kolkata's hour: 10:00 IST");
	dq_policy.now = at("2026-11-23T03:20:00Z");
	is_str(slot(&cal, &day, "Asia/Kathmandu"), "2026-11-23T04:15:00Z",
	    "and to Kathmandu's: 10:00 NPT");
	dq_hours_free(&day);
	dq_calendar_free(cal);
}

static void
test_night_shift(void)
{
	struct dq_hours night = hours("{\"mon\":[\"22:00\",\"06:00\"]}", NULL);
	struct dq_calendar *cal = dq_calendar_new();

	reset("2026-11-23T22:30:00Z");
	entry(cal, "2026-11-23T22:40:00Z", "2026-11-24T00:40:00Z");
	is_str(slot(&cal, &night, "UTC"), "2026-11-24T00:50:00Z",
	    "a Monday night shift goes on after midnight");
	reset("2026-11-23T22:30:00Z");
	entry(cal, "2026-11-23T22:40:00Z", "2026-11-24T05:20:00Z");
	is_str(slot(&cal, &night, "UTC"), "2026-11-24T05:30:00Z",
	    "the last slot ends just as the shift does");
	reset("2026-11-23T22:30:00Z");
	entry(cal, "2026-11-23T22:40:00Z", "2026-11-24T05:21:00Z");
	is_str(slot(&cal, &night, "UTC"), NULL,
	    "a slot may not run past the shift's end (05:31 rounds to 05:35)");
	dq_hours_free(&night);
	dq_calendar_free(cal);
}

static void
test_holiday(void)
{
	const char *week = "{\"mon\":[\"08:00\",\"17:00\"],\"tue\":[\"08:00\",\"17:00\"]}";
	struct dq_hours off = hours(week, "[\"2026-11-24\"]");
	struct dq_hours morning = hours(week,
	    "[{\"date\":\"2026-11-24\",\"start\":\"08:00\",\"end\":\"12:00\"}]");
	struct dq_hours weekend = hours("{\"sat\":[\"08:00\",\"17:00\"]}", NULL);
	struct dq_calendar *cal = dq_calendar_new();
	const char *ny = "America/New_York";

	reset("2026-11-23T22:30:00Z");
	is_str(slot(&cal, &off, ny), NULL, "Tuesday is a holiday: nothing in 24 hours");
	is_str(slot(&cal, &weekend, ny), NULL, "no working time at all in the window");
	is_str(slot(&cal, &morning, ny), "2026-11-24T17:00:00Z",
	    "a morning off: the slot is at 12:00 EST");
	dq_hours_free(&off);
	dq_hours_free(&morning);
	dq_hours_free(&weekend);
	dq_calendar_free(cal);
}

static void
test_buffers(void)
{
	struct dq_hours always = hours(NULL, NULL);
	struct dq_calendar *cal = dq_calendar_new();

	reset("2026-11-23T08:50:00Z");
	entry(cal, "2026-11-23T09:00:00Z", "2026-11-23T09:30:00Z");
	entry(cal, "2026-11-23T09:40:00Z", "2026-11-23T10:00:00Z");
	is_str(slot(&cal, &always, NULL), "2026-11-23T10:10:00Z",
	    "back-to-back entries: after the second and its buffer");
	entry(cal, "2026-11-23T09:00:00Z", "2026-11-23T09:30:00Z");
	entry(cal, "2026-11-23T10:20:00Z", "2026-11-23T11:00:00Z");
	is_str(slot(&cal, &always, NULL), "2026-11-23T09:40:00Z",
	    "a gap of slot + two buffers is enough");
	entry(cal, "2026-11-23T09:00:00Z", "2026-11-23T09:30:00Z");
	entry(cal, "2026-11-23T10:19:00Z", "2026-11-23T11:00:00Z");
	is_str(slot(&cal, &always, NULL), "2026-11-23T11:10:00Z",
	    "a minute less is not");
	entry(cal, "2026-11-23T09:30:00Z", "2026-11-23T10:00:00Z");
	entry(cal, "2026-11-23T09:00:00Z", "2026-11-23T12:00:00Z");
	is_str(slot(&cal, &always, NULL), "2026-11-23T12:10:00Z",
	    "entries out of order and inside each other");
	entry(cal, "2026-11-23T09:20:00Z", "2026-11-23T10:00:00Z");
	is_str(slot(&cal, &always, NULL), "2026-11-23T10:10:00Z",
	    "the buffer before an entry keeps the slot from 09:00");
	dq_calendar_free(cal);
}

static void
test_stretches(void)
{
	struct dq_hours split = hours("{\"mon\":[[\"08:00\",\"12:00\"],"
	    "[\"13:00\",\"17:00\"]]}", NULL);
	struct dq_hours short_day = hours("{\"mon\":[\"08:00\",\"12:00\"]}", NULL);
	struct dq_calendar *cal = dq_calendar_new();

	reset("2026-11-23T07:00:00Z");
	entry(cal, "2026-11-23T08:00:00Z", "2026-11-23T11:30:00Z");
	is_str(slot(&cal, &split, "UTC"), "2026-11-23T13:00:00Z",
	    "no slot across lunch: it lies in one stretch");
	dq_policy.slot_minutes = 300;
	is_str(slot(&cal, &short_day, "UTC"), NULL,
	    "a slot longer than every stretch never fits");
	dq_hours_free(&split);
	dq_hours_free(&short_day);
	dq_calendar_free(cal);
}

static void
test_horizon(void)
{
	struct dq_hours tuesday = hours("{\"tue\":[\"14:00\",\"17:00\"]}", NULL);
	struct dq_calendar *cal = dq_calendar_new();

	reset("2026-11-23T14:00:00Z");
	is_str(slot(&cal, &tuesday, "UTC"), "2026-11-24T14:00:00Z",
	    "a slot exactly 24 hours ahead is inside the horizon");
	reset("2026-11-23T13:55:00Z");
	is_str(slot(&cal, &tuesday, "UTC"), NULL,
	    "24 hours 5 minutes ahead is not");
	dq_policy.horizon_hours = 48;
	is_str(slot(&cal, &tuesday, "UTC"), "2026-11-24T14:00:00Z",
	    "--horizon-hours 48 reaches it");
	dq_hours_free(&tuesday);
	dq_calendar_free(cal);
}

static void
test_rounding(void)
{
	struct dq_hours always = hours(NULL, NULL);
	struct dq_calendar *cal = dq_calendar_new();

	reset("2026-11-23T08:00:00Z");
	entry(cal, "2026-11-23T08:00:00Z", "2026-11-23T10:17:00Z");
	is_str(slot(&cal, &always, NULL), "2026-11-23T10:30:00Z",
	    "10:17 + 10 minutes buffer rounds up to 10:30");
	dq_policy.round_minutes = 1;
	entry(cal, "2026-11-23T08:00:00Z", "2026-11-23T10:17:00Z");
	is_str(slot(&cal, &always, NULL), "2026-11-23T10:27:00Z",
	    "--round-minutes 1 keeps 10:27");
	reset("2026-11-23T23:47:00Z");
	dq_policy.round_minutes = 7;
	is_str(slot(&cal, &always, NULL), "2026-11-24T00:00:00Z",
	    "a step that does not divide the day starts again at midnight");
	dq_calendar_free(cal);
}

static void
test_booking(void)
{
	struct dq_hours always = hours(NULL, NULL);
	struct dq_calendar *cal = dq_calendar_new();
	struct dq_span s, first;

	reset("2026-11-23T08:50:00Z");
	entry(cal, "2026-11-23T12:00:00Z", "2026-11-23T13:00:00Z");
	ok(dq_calendar_slot(cal, &always, NULL, 0, &first), "a first slot");
	dq_calendar_book(cal, first);
	ok(dq_calendar_slot(cal, &always, NULL, 0, &s) &&
	    s.start == at("2026-11-23T09:40:00Z"), "the next one sees the booking");
	ok(dq_calendar_slot(cal, &always, NULL, at("2026-11-23T11:30:00Z"), &s) &&
	    s.start == at("2026-11-23T13:10:00Z"), "a start asked for that is taken "
	    "gives the next free one");
	dq_calendar_book(cal, s);
	ok(dq_calendar_slot(cal, &always, NULL, at("2026-11-23T11:30:00Z"), &s) &&
	    s.start == at("2026-11-23T13:50:00Z"), "a booking after an entry "
	    "is seen where it lies");
	dq_calendar_remove(cal, first);
	ok(dq_calendar_slot(cal, &always, NULL, 0, &s) && s.start == first.start,
	    "a removed entry frees its time");
	dq_calendar_free(cal);
}

static void
test_density(void)
{
	struct dq_hours day = hours("{\"mon\":[\"09:00\",\"17:00\"],"
	    "\"tue\":[\"09:00\",\"17:00\"]}", NULL);
	struct dq_calendar *cal = dq_calendar_new();

	reset("2026-11-23T09:00:00Z");
	ok(dq_calendar_density(cal, &day, "UTC") == 0, "an empty calendar: 0");
	entry(cal, "2026-11-23T10:00:00Z", "2026-11-23T11:00:00Z");
	ok(dq_calendar_density(cal, &day, "UTC") == 125,
	    "one hour of eight: 0.125 (Tuesday 09:00 is past the horizon)");
	entry(cal, "2026-11-23T16:30:00Z", "2026-11-23T18:00:00Z");
	entry(cal, "2026-11-23T10:30:00Z", "2026-11-23T10:45:00Z");
	ok(dq_calendar_density(cal, &day, "UTC") == 188,
	    "only working time counts, overlaps once: 90/480 rounds to 0.188 (%ld)",
	    dq_calendar_density(cal, &day, "UTC"));
	dq_calendar_free(cal);
	dq_hours_free(&day);
}

int
main(void)
{
	test_lead();
	test_not_free_now();
	test_dst();
	test_half_hour_zones();
	test_night_shift();
	test_holiday();
	test_buffers();
	test_stretches();
	test_horizon();
	test_rounding();
	test_booking();
	test_density();
	return done_testing();
}
