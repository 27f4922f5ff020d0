/* hours.c: working hours in a member's own zone, and holidays.
 *
 * Hours are local wall times per weekday; they become UTC spans only for
 * a window asked for, one local day at a time, so daylight saving changes
 * and night shifts that cross midnight come out right by construction:
 * each end of a stretch is converted on its own date. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "dq.h"

static const char *const day_names[7] = {
	"mon", "tue", "wed", "thu", "fri", "sat", "sun"
};

static bool
parse_clock(json_object *o, int *min)
{
	const char *s = json_object_is_type(o, json_type_string) ?
	    json_object_get_string(o) : NULL;
	int h, m;

	if (!s || strlen(s) != 5 || s[2] != ':' ||
	    sscanf(s, "%2d:%2d", &h, &m) != 2 || h < 0 || m < 0 || m > 59 ||
	    h > 24 || (h == 24 && m != 0))
		return false;
	*min = h * 60 + m;
	return true;
}

static bool
parse_stretch(json_object *pair, int *start, int *end)
{
	if (!json_object_is_type(pair, json_type_array) ||
	    json_object_array_length(pair) != 2 ||
	    !parse_clock(json_object_array_get_idx(pair, 0), start) ||
	    !parse_clock(json_object_array_get_idx(pair, 1), end) ||
	    *start == 1440)
		return false;
	if (*end <= *start)	/* ends the next day: a night shift */
		*end += 1440;
	return true;
}

static bool
parse_date(const char *s, struct dq_holiday *h)
{
	time_t t;
	char buf[32];

	if (!s || strlen(s) != 10)
		return false;
	snprintf(buf, sizeof buf, "%sT00:00:00Z", s);
	if (!dq_time_parse(buf, &t))
		return false;
	return sscanf(s, "%4d-%2d-%2d", &h->year, &h->mon, &h->mday) == 3;
}

static bool
parse_hours(json_object *hours, struct dq_hours *out, char *err, size_t errlen)
{
	struct json_object_iter it;

	json_object_object_foreachC(hours, it) {
		const char *key = it.key;
		json_object *val = it.val;
		int d;

		for (d = 0; d < 7 && strcmp(key, day_names[d]) != 0; d++)
			;
		if (d == 7) {
			snprintf(err, errlen, "hours: unknown day \"%s\" (mon..sun)", key);
			return false;
		}
		if (!json_object_is_type(val, json_type_array))
			goto bad;
		if (json_object_array_length(val) == 2 &&
		    json_object_is_type(json_object_array_get_idx(val, 0),
		    json_type_string)) {
			if (!parse_stretch(val, &out->stretch[d][0].start,
			    &out->stretch[d][0].end))
				goto bad;
			out->nstretch[d] = 1;
			continue;
		}
		if (json_object_array_length(val) > DQ_MAX_STRETCHES) {
			snprintf(err, errlen, "hours.%s: more than %d stretches",
			    key, DQ_MAX_STRETCHES);
			return false;
		}
		for (size_t i = 0; i < json_object_array_length(val); i++) {
			int n = out->nstretch[d];

			if (!parse_stretch(json_object_array_get_idx(val, i),
			    &out->stretch[d][n].start, &out->stretch[d][n].end))
				goto bad;
			out->nstretch[d]++;
		}
		continue;
bad:
		snprintf(err, errlen, "hours.%s: expected [\"HH:MM\",\"HH:MM\"] "
		    "or a list of them", key);
		return false;
	}
	return true;
}

static bool
parse_holidays(json_object *holidays, struct dq_hours *out, char *err,
    size_t errlen)
{
	size_t n;

	if (!json_object_is_type(holidays, json_type_array)) {
		snprintf(err, errlen, "holidays: expected a list");
		return false;
	}
	n = json_object_array_length(holidays);
	out->holiday = xcalloc(n, sizeof *out->holiday);
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(holidays, i);
		struct dq_holiday *h = &out->holiday[i];

		h->start = 0;
		h->end = 1440;
		if (json_object_is_type(o, json_type_string)) {
			if (!parse_date(json_object_get_string(o), h))
				goto bad;
		} else if (!json_object_is_type(o, json_type_object) ||
		    !parse_date(dq_get_str(o, "date"), h) ||
		    !parse_clock(dq_get(o, "start"), &h->start) ||
		    !parse_clock(dq_get(o, "end"), &h->end) ||
		    h->end <= h->start) {
			goto bad;
		}
		out->nholiday++;
		continue;
bad:
		snprintf(err, errlen, "holidays[%zu]: expected \"YYYY-MM-DD\" or "
		    "{\"date\", \"start\", \"end\"}", i);
		return false;
	}
	return true;
}

bool
dq_hours_parse(json_object *hours, json_object *holidays,
    struct dq_hours *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	out->always = hours == NULL;
	if (hours && !json_object_is_type(hours, json_type_object)) {
		snprintf(err, errlen, "hours: expected an object of weekdays");
		return false;
	}
	if (hours && !parse_hours(hours, out, err, errlen))
		return false;
	if (holidays && !parse_holidays(holidays, out, err, errlen)) {
		dq_hours_free(out);
		return false;
	}
	return true;
}

void
dq_hours_free(struct dq_hours *h)
{
	free(h->holiday);
	h->holiday = NULL;
	h->nholiday = 0;
}

struct spans {
	struct dq_span *v;
	size_t n, cap;
};

static void
spans_add(struct spans *s, time_t start, time_t end)
{
	if (end <= start)
		return;
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 16;
		s->v = xrealloc(s->v, s->cap * sizeof *s->v);
	}
	s->v[s->n].start = start;
	s->v[s->n].end = end;
	s->n++;
}

int
dq_span_cmp(const void *a, const void *b)
{
	const struct dq_span *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->end < y->end ? -1 : x->end > y->end;
}

/* Removes [cut.start, cut.end) from every span. */
static void
spans_cut(struct spans *s, struct dq_span cut)
{
	size_t n = s->n;

	for (size_t i = 0; i < n; i++) {
		struct dq_span sp = s->v[i];

		if (cut.end <= sp.start || cut.start >= sp.end)
			continue;
		s->v[i].end = s->v[i].start;	/* emptied; dropped below */
		if (sp.start < cut.start)
			spans_add(s, sp.start, cut.start);
		if (cut.end < sp.end)
			spans_add(s, cut.end, sp.end);
	}
}

static bool
whole_day_off(const struct dq_hours *h, const struct tm *day)
{
	for (size_t i = 0; i < h->nholiday; i++) {
		const struct dq_holiday *hd = &h->holiday[i];

		if (hd->start == 0 && hd->end == 1440 &&
		    hd->year == day->tm_year + 1900 &&
		    hd->mon == day->tm_mon + 1 && hd->mday == day->tm_mday)
			return true;
	}
	return false;
}

static size_t
spans(const struct dq_hours *h, const char *zone, time_t from, time_t to,
    bool holidays, struct dq_span **out)
{
	struct spans s = { 0 };
	struct tm first, day;
	time_t t;
	size_t kept = 0;

	if (h->always) {
		spans_add(&s, from, to);
		*out = s.v;
		return s.n;
	}
	/* From the local day before (its night shift may reach into the
	 * window) to the local day of the window's end. */
	dq_zone_local(zone, from, &first);
	first.tm_mday -= 1;
	first.tm_hour = first.tm_min = first.tm_sec = 0;
	for (int k = 0;; k++) {
		day = first;
		day.tm_mday += k;
		t = timegm(&day);
		gmtime_r(&t, &day);
		int wd = (day.tm_wday + 6) % 7;
		int y = day.tm_year + 1900, m = day.tm_mon + 1, d = day.tm_mday;
		time_t day_start = dq_zone_instant(zone, y, m, d, 0);

		if (day_start >= to)
			break;
		if (holidays && whole_day_off(h, &day))
			continue;
		for (int i = 0; i < h->nstretch[wd]; i++)
			spans_add(&s, dq_zone_instant(zone, y, m, d, h->stretch[wd][i].start),
			    dq_zone_instant(zone, y, m, d, h->stretch[wd][i].end));
	}
	for (size_t i = 0; holidays && i < h->nholiday; i++) {
		const struct dq_holiday *hd = &h->holiday[i];
		struct dq_span cut;

		if (hd->start == 0 && hd->end == 1440)
			continue;
		cut.start = dq_zone_instant(zone, hd->year, hd->mon, hd->mday, hd->start);
		cut.end = dq_zone_instant(zone, hd->year, hd->mon, hd->mday, hd->end);
		spans_cut(&s, cut);
	}
	/* Clip to the window, then sort and merge what touches. */
	for (size_t i = 0; i < s.n; i++) {
		struct dq_span sp = s.v[i];

		if (sp.start < from)
			sp.start = from;
		if (sp.end > to)
			sp.end = to;
		if (sp.start < sp.end)
			s.v[kept++] = sp;
	}
	if (kept > 0)	/* s.v is NULL when no stretch fell in the window */
		qsort(s.v, kept, sizeof *s.v, dq_span_cmp);
	s.n = 0;
	for (size_t i = 0; i < kept; i++) {
		if (s.n > 0 && s.v[i].start <= s.v[s.n - 1].end) {
			if (s.v[i].end > s.v[s.n - 1].end)
				s.v[s.n - 1].end = s.v[i].end;
		} else {
			s.v[s.n++] = s.v[i];
		}
	}
	*out = s.v;
	return s.n;
}

size_t
dq_hours_spans(const struct dq_hours *h, const char *zone, time_t from,
    time_t to, struct dq_span **out)
{
	return spans(h, zone, from, to, true, out);
}

const char *
dq_hours_absence(const struct dq_hours *h, const char *zone, time_t t)
{
	struct dq_span *v;
	size_t n;

	n = spans(h, zone, t, t + 1, true, &v);
	free(v);
	if (n > 0)
		return NULL;
	n = spans(h, zone, t, t + 1, false, &v);
	free(v);
	return n > 0 ? "holiday" : "outside-hours";
}
