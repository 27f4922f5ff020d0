/* timefmt.c: RFC 3339 times; dq writes UTC with a "Z". */
#include <config.h>

#include <ctype.h>
#include <string.h>

#include "dq.h"

static bool
digits(const char **sp, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*sp)[i]))
			return false;
		v = v * 10 + ((*sp)[i] - '0');
	}
	*sp += n;
	*out = v;
	return true;
}

static bool
expect(const char **sp, const char *chars)
{
	if (**sp == '\0' || !strchr(chars, **sp))
		return false;
	(*sp)++;
	return true;
}

bool
dq_time_parse(const char *s, time_t *out)
{
	struct tm tm = { 0 };
	int y, mo, d, h, mi, sec, oh, om;
	long offset = 0;
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (!s || !digits(&s, 4, &y) || !expect(&s, "-") ||
	    !digits(&s, 2, &mo) || !expect(&s, "-") || !digits(&s, 2, &d) ||
	    !expect(&s, "Tt ") || !digits(&s, 2, &h) || !expect(&s, ":") ||
	    !digits(&s, 2, &mi) || !expect(&s, ":") || !digits(&s, 2, &sec))
		return false;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 ||
	    mi > 59 || sec > 60)
		return false;
	if (*s == '.') {
		/* Fractions of a second are dropped: dq works in seconds. */
		s++;
		if (!isdigit((unsigned char)*s))
			return false;
		while (isdigit((unsigned char)*s))
			s++;
	}
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		int sign = *s++ == '-' ? -1 : 1;

		if (!digits(&s, 2, &oh) || !expect(&s, ":") ||
		    !digits(&s, 2, &om) || oh > 23 || om > 59)
			return false;
		offset = sign * (oh * 3600L + om * 60L);
	} else {
		return false;
	}
	if (*s != '\0')
		return false;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec == 60 ? 59 : sec;
	*out = timegm(&tm) - offset;
	return true;
}

char *
dq_time_format(time_t t, char *buf)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, DQ_TIMEBUF, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}
