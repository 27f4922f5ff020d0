/* Time zones and working hours: the arithmetic that is easier to get
 * wrong than to see wrong in a pipeline. */
#include <config.h>

#include <stdlib.h>

#include "dq.h"
#include "tap.h"

static void
test_times(void)
{
	time_t t;

	is_str(utc(at("2026-11-21T14:10:00Z")), "2026-11-21T14:10:00Z", "UTC round trip");
	is_str(utc(at("2026-11-21T09:10:00-05:00")), "2026-11-21T14:10:00Z", "offset");
	is_str(utc(at("2026-11-21T14:10:00.123Z")), "2026-11-21T14:10:00Z", "fraction");
	ok(!dq_time_parse("2026-02-30T00:00:00Z", &t), "30 February is refused");
	ok(!dq_time_parse("2026-11-21 14:10", &t), "missing seconds refused");
	ok(!dq_time_parse("2026-11-21T14:10:00", &t), "missing zone refused");
	ok(!dq_time_parse("2026-11-21T14:10:00Zjunk", &t), "trailing text refused");
}

static void
test_instants(void)
{
	const char *ny = "America/New_York";

	is_str(utc(dq_zone_instant(ny, 2026, 3, 7, 9 * 60)), "2026-03-07T14:00:00Z",
	    "New York 09:00 before spring forward is EST");
	is_str(utc(dq_zone_instant(ny, 2026, 3, 8, 9 * 60)), "2026-03-08T13:00:00Z",
	    "New York 09:00 on 8 March is EDT");
	is_str(utc(dq_zone_instant(ny, 2026, 3, 8, 2 * 60 + 30)), "2026-03-08T07:30:00Z",
	    "02:30 in the spring gap reads as 03:30 EDT");
	is_str(utc(dq_zone_instant(ny, 2026, 11, 1, 60 + 30)), "2026-11-01T05:30:00Z",
	    "01:30 on 1 November (repeated) is the first, EDT");
	is_str(utc(dq_zone_instant(ny, 2026, 11, 1, 9 * 60)), "2026-11-01T14:00:00Z",
	    "New York 09:00 on 1 November is EST");
	is_str(utc(dq_zone_instant("Asia/Kolkata", 2026, 11, 23, 9 * 60)),
	    "2026-11-23T03:30:00Z", "Kolkata is UTC+05:30");
	is_str(utc(dq_zone_instant("Asia/Kathmandu", 2026, 11, 23, 9 * 60)),
	    "2026-11-23T03:15:00Z", "Kathmandu is UTC+05:45");
	ok(dq_zone_valid("Europe/London"), "a real zone is valid");
	ok(!dq_zone_valid("Mars/Olympus"), "an unknown zone is not");
	ok(!dq_zone_valid("../../etc/passwd"), "a path is not a zone");
}

static void
test_spans(void)
{
	struct dq_hours day = hours("{\"mon\":[\"08:00\",\"17:00\"],"
	    "\"sun\":[\"08:00\",\"17:00\"]}", NULL);
	struct dq_hours night = hours("{\"sat\":[\"22:00\",\"06:00\"]}", NULL);
	struct dq_hours split = hours("{\"mon\":[[\"08:00\",\"12:00\"],[\"13:00\",\"17:00\"]]}",
	    "[\"2026-11-30\",{\"date\":\"2026-11-23\",\"start\":\"15:00\",\"end\":\"17:00\"}]");
	struct dq_span *v;
	size_t n;

	n = dq_hours_spans(&day, "America/New_York", at("2026-11-01T00:00:00Z"),
	    at("2026-11-03T00:00:00Z"), &v);
	ok(n == 2, "two working days in the window (%zu)", n);
	is_str(utc(v[0].start), "2026-11-01T13:00:00Z", "Sunday after fall back starts at 08:00 EST");
	is_str(utc(v[1].start), "2026-11-02T13:00:00Z", "Monday starts at 08:00 EST");
	free(v);

	n = dq_hours_spans(&night, "America/New_York", at("2026-10-31T12:00:00Z"),
	    at("2026-11-02T00:00:00Z"), &v);
	ok(n == 1, "one night shift");
	is_str(utc(v[0].start), "2026-11-01T02:00:00Z", "night shift starts 22:00 EDT");
	is_str(utc(v[0].end), "2026-11-01T11:00:00Z", "and ends 06:00 EST: nine hours that night");
	free(v);

	n = dq_hours_spans(&night, "America/New_York", at("2026-11-01T05:00:00Z"),
	    at("2026-11-01T06:00:00Z"), &v);
	ok(n == 1, "a window inside the night shift, after midnight, sees it");
	free(v);

	is_str(dq_hours_absence(&split, "Europe/London", at("2026-11-23T10:00:00Z")),
	    NULL, "working in the morning stretch");
	is_str(dq_hours_absence(&split, "Europe/London", at("2026-11-23T12:30:00Z")),
	    "outside-hours", "lunch is outside hours");
	is_str(dq_hours_absence(&split, "Europe/London", at("2026-11-23T15:30:00Z")),
	    "holiday", "a part-day holiday");
	is_str(dq_hours_absence(&split, "Europe/London", at("2026-11-30T09:00:00Z")),
	    "holiday", "an all-day holiday");
	is_str(dq_hours_absence(&split, "Europe/London", at("2026-11-24T09:00:00Z")),
	    "outside-hours", "Tuesday is a day off");
	dq_hours_free(&day);
	dq_hours_free(&night);
	dq_hours_free(&split);
}

static void
test_bad_hours(void)
{
	struct dq_hours h;
	char err[256];
	json_object *o = json_tokener_parse("{\"mon\":[\"8:00\",\"17:00\"]}");

	ok(!dq_hours_parse(o, NULL, &h, err, sizeof err), "H:MM is refused");
	json_object_put(o);
	o = json_tokener_parse("{\"monday\":[\"08:00\",\"17:00\"]}");
	ok(!dq_hours_parse(o, NULL, &h, err, sizeof err), "unknown day refused");
	is_str(err, "hours: unknown day \"monday\" (mon..sun)", "and named");
	json_object_put(o);
}

int
main(void)
{
	test_times();
	test_instants();
	test_spans();
	test_bad_hours();
	return done_testing();
}
