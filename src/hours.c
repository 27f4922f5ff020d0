/* hours.c: working hours in a member's own zone, and holidays.
 *
 * Hours are local wall times per weekday; they become UTC spans only for
 * a window asked for, one local day at a time, so daylight saving changes
 * and night shifts that cross midnight come out right by construction:
 * each end of a stretch is converted on its own date. */
#include <config.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dq.h"

static const char *const day_names[7] = {
	"mon", "tue", "wed", "thu", "fri", "sat", "sun"
};

/* Clocks and stretches, as records, pods and the CSV members file all
 * read them */

/* "8:00" or "08:00", up to "24:00"; *s moves past it. */
static bool
read_clock(const char **s, int *min)
{
	const char *p = *s;
	int h = 0, digits = 0;

	while (isdigit((unsigned char)*p) && digits < 2) {
		h = h * 10 + (*p++ - '0');
		digits++;
	}
	if (digits == 0 || p[0] != ':' || !isdigit((unsigned char)p[1]) ||
	    !isdigit((unsigned char)p[2]) || isdigit((unsigned char)p[3]))
		return false;
	*min = h * 60 + (p[1] - '0') * 10 + (p[2] - '0');
	if (h > 24 || p[1] > '5' || *min > 1440)
		return false;
	*s = p + 3;
	return true;
}

/* Adds start..end to day d. A stretch that ends at or before its start
 * ends the next day, a night shift; none starts at 24:00. */
static bool
add_stretch(struct dq_hours *h, int d, int start, int end)
{
	int n = h->nstretch[d];

	if (start == 1440 || n == DQ_MAX_STRETCHES)
		return false;
	if (end <= start)
		end += 1440;
	h->stretch[d][n].start = start;
	h->stretch[d][n].end = end;
	h->nstretch[d]++;
	return true;
}

/* Hours in a record: {"mon": ["08:00","17:00"], "tue": [[...], [...]]} */

/* A record spells a clock out in full: "08:00". */
static bool
record_clock(json_object *o, int *min)
{
	const char *s = json_object_is_type(o, json_type_string) ?
	    json_object_get_string(o) : NULL;

	return s && strlen(s) == 5 && read_clock(&s, min);
}

static bool
record_stretch(json_object *pair, struct dq_hours *h, int d)
{
	int start, end;

	return json_object_is_type(pair, json_type_array) &&
	    json_object_array_length(pair) == 2 &&
	    record_clock(json_object_array_get_idx(pair, 0), &start) &&
	    record_clock(json_object_array_get_idx(pair, 1), &end) &&
	    add_stretch(h, d, start, end);
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
			if (!record_stretch(val, out, d))
				goto bad;
			continue;
		}
		if (json_object_array_length(val) > DQ_MAX_STRETCHES) {
			snprintf(err, errlen, "hours.%s: more than %d stretches",
			    key, DQ_MAX_STRETCHES);
			return false;
		}
		for (size_t i = 0; i < json_object_array_length(val); i++)
			if (!record_stretch(json_object_array_get_idx(val, i), out, d))
				goto bad;
		continue;
bad:
		snprintf(err, errlen, "hours.%s: expected [\"HH:MM\",\"HH:MM\"] "
		    "or a list of them", key);
		return false;
	}
	return true;
}

static json_object *
clock_json(int min)
{
	char buf[16];

	if (min > 1440)		/* the next day's */
		min -= 1440;
	snprintf(buf, sizeof buf, "%02d:%02d", min / 60, min % 60);
	return json_object_new_string(buf);
}

json_object *
dq_hours_json(const struct dq_hours *h)
{
	json_object *hours = json_object_new_object();

	for (int d = 0; d < 7; d++) {
		json_object *list;

		if (!h->nstretch[d])
			continue;
		list = json_object_new_array();
		for (int i = 0; i < h->nstretch[d]; i++) {
			json_object *pair = json_object_new_array();

			json_object_array_add(pair, clock_json(h->stretch[d][i].start));
			json_object_array_add(pair, clock_json(h->stretch[d][i].end));
			json_object_array_add(list, pair);
		}
		if (h->nstretch[d] == 1) {	/* the short way */
			json_object *one = json_object_get(
			    json_object_array_get_idx(list, 0));

			json_object_put(list);
			list = one;
		}
		json_object_object_add(hours, day_names[d], list);
	}
	return hours;
}

/* Hours as people write them (dq-pods(5)):
 * "mon-fri 08:00-12:00 13:00-17:00; sat 09:00-12:00" */

static const char *
skip_space(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

static int
read_day(const char **s)
{
	for (int d = 0; d < 7; d++) {
		if (strncasecmp(*s, day_names[d], 3) == 0 &&
		    !isalpha((unsigned char)(*s)[3])) {
			*s += 3;
			return d;
		}
	}
	return -1;
}

/* Days like "mon-fri" or "mon,wed,fri" or "fri-mon" into on[]; where
 * they end, or NULL. */
static const char *
read_days(const char *s, bool on[7])
{
	do {
		int a, b;

		s = skip_space(s);
		if ((a = read_day(&s)) < 0)
			return NULL;
		b = a;
		if (*s == '-') {
			s++;
			if ((b = read_day(&s)) < 0)
				return NULL;
		}
		for (int d = a;; d = (d + 1) % 7) {
			on[d] = true;
			if (d == b)
				break;
		}
		s = skip_space(s);
	} while (*s == ',' && s++);
	return s;
}

bool
dq_hours_parse_text(const char *text, struct dq_hours *out, char *err,
    size_t errlen)
{
	const char *s = text;

	memset(out, 0, sizeof *out);
	for (;;) {
		bool on[7] = { false };
		int nstretch = 0, start, end;

		if (!(s = read_days(s, on))) {
			snprintf(err, errlen, "hours \"%s\": expected days like "
			    "mon-fri or sat,sun", dq_excerpt(text));
			return false;
		}
		while (*s && *s != ';') {
			if (!read_clock(&s, &start) || start == 1440 ||
			    *s++ != '-' || !read_clock(&s, &end)) {
				snprintf(err, errlen, "hours \"%s\": expected a "
				    "stretch like 08:00-17:00", dq_excerpt(text));
				return false;
			}
			for (int d = 0; d < 7; d++) {
				if (on[d] && !add_stretch(out, d, start, end)) {
					snprintf(err, errlen, "hours \"%s\": more "
					    "than %d stretches a day",
					    dq_excerpt(text), DQ_MAX_STRETCHES);
					return false;
				}
			}
			nstretch++;
			while (*s == ' ' || *s == '\t' || *s == ',')
				s++;
		}
		if (nstretch == 0) {
			snprintf(err, errlen, "hours \"%s\": expected a stretch "
			    "like 08:00-17:00 after the days", dq_excerpt(text));
			return false;
		}
		if (*s == '\0')
			return true;
		s++;	/* ';' */
		/* A group may end with ';': "mon-fri 08:00-17:00;" */
		if (*skip_space(s) == '\0')
			return true;
	}
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
		    !record_clock(dq_get(o, "start"), &h->start) ||
		    !record_clock(dq_get(o, "end"), &h->end) ||
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
