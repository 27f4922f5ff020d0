/* tap.h: just enough TAP for the C unit tests, and the helpers they share
 * for writing times and working hours briefly. Include after dq.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed;

#define ok(cond, ...) do { \
	tap_n++; \
	if (!(cond)) tap_failed++; \
	printf("%s %d - ", (cond) ? "ok" : "not ok", tap_n); \
	printf(__VA_ARGS__); \
	putchar('\n'); \
} while (0)

#define is_str(got, want, ...) do { \
	const char *g_ = (got), *w_ = (want); \
	int same_ = g_ && w_ ? strcmp(g_, w_) == 0 : g_ == w_; \
	ok(same_, __VA_ARGS__); \
	if (!same_) printf("#   got \"%s\"\n#  want \"%s\"\n", \
	    g_ ? g_ : "(null)", w_ ? w_ : "(null)"); \
} while (0)

#define done_testing() (printf("1..%d\n", tap_n), tap_failed != 0)

/* Helpers for the tests of times and hours; inline, so a test that
 * needs none of them is not warned about them. */
static inline const char *
utc(time_t t)
{
	static char buf[4][DQ_TIMEBUF];
	static int i;

	return dq_time_format(t, buf[i++ % 4]);
}

static inline time_t
at(const char *s)
{
	time_t t = 0;

	if (!dq_time_parse(s, &t))
		abort();
	return t;
}

static inline struct dq_hours
hours(const char *hours_json, const char *holidays_json)
{
	json_object *h = hours_json ? json_tokener_parse(hours_json) : NULL;
	json_object *d = holidays_json ? json_tokener_parse(holidays_json) : NULL;
	struct dq_hours out;
	char err[256];

	if (!dq_hours_parse(h, d, &out, err, sizeof err)) {
		printf("# %s\n", err);
		abort();
	}
	json_object_put(h);
	json_object_put(d);
	return out;
}
