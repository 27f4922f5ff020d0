/* Working hours as people write them (dq-pods(5)), the one grammar pods
 * and the CSV members file share, and the record form it becomes. */
#include <config.h>

#include <stdlib.h>

#include "dq.h"
#include "tap.h"

static char err[256];

/* text's hours as a record's "hours", or "error: ..." */
static const char *
week(const char *text)
{
	static char buf[4][1024];
	static int i;
	char *out = buf[i++ % 4];
	struct dq_hours h;
	json_object *o;

	if (!dq_hours_parse_text(text, &h, err, sizeof err)) {
		snprintf(out, 1024, "error: %s", err);
		return out;
	}
	o = dq_hours_json(&h);
	snprintf(out, 1024, "%s", json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	dq_hours_free(&h);
	return out;
}

static void
test_stretches(void)
{
	is_str(week("mon-fri 08:00-17:00"),
	    "{\"mon\":[\"08:00\",\"17:00\"],\"tue\":[\"08:00\",\"17:00\"],"
	    "\"wed\":[\"08:00\",\"17:00\"],\"thu\":[\"08:00\",\"17:00\"],"
	    "\"fri\":[\"08:00\",\"17:00\"]}", "a day range, one stretch the short way");
	is_str(week("wed 08:00-12:00 13:00-17:00"),
	    "{\"wed\":[[\"08:00\",\"12:00\"],[\"13:00\",\"17:00\"]]}",
	    "stretches split by a space: the afternoon stays");
	is_str(week("wed 08:00-12:00,13:00-17:00"),
	    "{\"wed\":[[\"08:00\",\"12:00\"],[\"13:00\",\"17:00\"]]}",
	    "or by a comma");
	is_str(week("wed 8:00-9:30 , 10:00-11:00"),
	    "{\"wed\":[[\"08:00\",\"09:30\"],[\"10:00\",\"11:00\"]]}",
	    "one-digit hours, spaces around the comma");
	is_str(week("mon-thu 07:00-15:30; fri 07:00-12:00; mon 16:00-18:00"),
	    "{\"mon\":[[\"07:00\",\"15:30\"],[\"16:00\",\"18:00\"]],"
	    "\"tue\":[\"07:00\",\"15:30\"],\"wed\":[\"07:00\",\"15:30\"],"
	    "\"thu\":[\"07:00\",\"15:30\"],\"fri\":[\"07:00\",\"12:00\"]}",
	    "groups add up: a day named twice has both");
	is_str(week("sat 09:00-12:00;"), "{\"sat\":[\"09:00\",\"12:00\"]}",
	    "a trailing ';' ends the list");
	is_str(week("wed 17:00-24:00"), "{\"wed\":[\"17:00\",\"24:00\"]}",
	    "24:00 as an end");
}

static void
test_days(void)
{
	is_str(week("fri-mon 10:00-11:00"),
	    "{\"mon\":[\"10:00\",\"11:00\"],\"fri\":[\"10:00\",\"11:00\"],"
	    "\"sat\":[\"10:00\",\"11:00\"],\"sun\":[\"10:00\",\"11:00\"]}",
	    "a range wraps over the week's end");
	is_str(week("Mon, WED,fri 10:00-11:00"),
	    "{\"mon\":[\"10:00\",\"11:00\"],\"wed\":[\"10:00\",\"11:00\"],"
	    "\"fri\":[\"10:00\",\"11:00\"]}", "days in any case, a list");
	is_str(week("sun 10:00-11:00"), "{\"sun\":[\"10:00\",\"11:00\"]}",
	    "one day");
}

static void
test_night_shift(void)
{
	struct dq_hours h;

	is_str(week("sun-thu 22:00-06:00"),
	    "{\"mon\":[\"22:00\",\"06:00\"],\"tue\":[\"22:00\",\"06:00\"],"
	    "\"wed\":[\"22:00\",\"06:00\"],\"thu\":[\"22:00\",\"06:00\"],"
	    "\"sun\":[\"22:00\",\"06:00\"]}", "a night shift is written as read");
	ok(dq_hours_parse_text("mon 22:00-06:00", &h, err, sizeof err) &&
	    h.nstretch[0] == 1 && h.stretch[0][0].start == 22 * 60 &&
	    h.stretch[0][0].end == 30 * 60, "and ends the next day, at 30:00");
	ok(dq_hours_parse_text("mon 09:00-09:00", &h, err, sizeof err) &&
	    h.stretch[0][0].end == 33 * 60,
	    "an end equal to the start is 24 hours on");
}

/* A record's hours and the same week written as text are one week. */
static void
test_same_as_records(void)
{
	struct dq_hours text, rec = hours("{\"mon\":[[\"08:00\",\"12:00\"],"
	    "[\"13:00\",\"17:00\"]],\"sat\":[\"22:00\",\"02:00\"]}", NULL);

	ok(dq_hours_parse_text("mon 08:00-12:00 13:00-17:00; sat 22:00-02:00",
	    &text, err, sizeof err) &&
	    !memcmp(text.nstretch, rec.nstretch, sizeof rec.nstretch) &&
	    !memcmp(text.stretch, rec.stretch, sizeof rec.stretch),
	    "stretches read from text equal a record's");
	dq_hours_free(&rec);
}

static void
test_bad(void)
{
	static const char *const bad_days[] = {
		"", ";", "weekdays 9-5", "mon-fry 08:00-17:00", "monday 08:00-09:00",
		"mon- 08:00-09:00", "mon,,tue 08:00-09:00", "08:00-17:00",
	};
	static const char *const bad_stretches[] = {
		"mon 8-17", "mon 08:00", "mon 08:00-", "mon 24:00-02:00",
		"mon 08:60-09:00", "mon 25:00-26:00", "mon 08:00-24:01",
		"mon 008:00-09:00", "mon 08:000-09:00", "mon 08:00-17:00 x",
		"mon 08:00_17:00",
	};
	char want[256];

	for (size_t i = 0; i < sizeof bad_days / sizeof *bad_days; i++) {
		snprintf(want, sizeof want, "error: hours \"%s\": expected days "
		    "like mon-fri or sat,sun", bad_days[i]);
		is_str(week(bad_days[i]), want, "days: \"%s\"", bad_days[i]);
	}
	for (size_t i = 0; i < sizeof bad_stretches / sizeof *bad_stretches; i++) {
		snprintf(want, sizeof want, "error: hours \"%s\": expected a "
		    "stretch like 08:00-17:00", bad_stretches[i]);
		is_str(week(bad_stretches[i]), want, "stretch: \"%s\"",
		    bad_stretches[i]);
	}
	is_str(week("mon"), "error: hours \"mon\": expected a stretch like "
	    "08:00-17:00 after the days", "days and no stretch");
	is_str(week("mon 1:00-2:00 2:00-3:00 3:00-4:00 4:00-5:00 5:00-6:00 "
	    "6:00-7:00 7:00-8:00 8:00-9:00 9:00-10:00"),
	    "error: hours \"mon 1:00-2:00 2:00-3:00 3:00-4:0...\": more than 8 "
	    "stretches a day", "nine stretches on a day");
}

int
main(void)
{
	test_stretches();
	test_days();
	test_night_shift();
	test_same_as_records();
	test_bad();
	return done_testing();
}
