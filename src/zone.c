/* zone.c: IANA time zones through the C library's tz database.
 *
 * glibc reads one zone at a time (TZ); the last zone used is kept, so a
 * caller that works member by member reloads the database once per zone
 * change, not once per call. */
#include <config.h>

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dq.h"

static char current[256];

static void
use_zone(const char *zone)
{
	if (!zone)
		zone = "UTC";
	if (strcmp(current, zone) == 0)
		return;
	snprintf(current, sizeof current, "%s", zone);
	setenv("TZ", zone, 1);
	tzset();
}

bool
dq_zone_valid(const char *zone)
{
	const char *dir = getenv("TZDIR");
	char path[4096];
	struct stat st;

	if (!zone || !*zone || zone[0] == '/' || strstr(zone, "..") ||
	    strlen(zone) >= sizeof current)
		return false;
	if (strcmp(zone, "UTC") == 0)
		return true;
	snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir :
	    "/usr/share/zoneinfo", zone);
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

long
dq_zone_offset(const char *zone, time_t t)
{
	struct tm tm;

	use_zone(zone);
	localtime_r(&t, &tm);
	return tm.tm_gmtoff;
}

void
dq_zone_local(const char *zone, time_t t, struct tm *out)
{
	use_zone(zone);
	localtime_r(&t, out);
}

time_t
dq_zone_instant(const char *zone, int year, int mon, int mday, int min)
{
	struct tm tm = { 0 };
	time_t wall, best = 0;
	long offsets[2];
	bool found = false;

	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = mday;
	tm.tm_min = min;
	wall = timegm(&tm);	/* the wall time read as if it were UTC */
	/* Zones change offset at most once within a day either side, so the
	 * offsets a day before and a day after are the only candidates. */
	offsets[0] = dq_zone_offset(zone, wall - 86400);
	offsets[1] = dq_zone_offset(zone, wall + 86400);
	for (int i = 0; i < 2; i++) {
		time_t t = wall - offsets[i];

		if (dq_zone_offset(zone, t) == offsets[i] && (!found || t < best)) {
			best = t;
			found = true;
		}
	}
	if (!found)	/* in a gap: read with the offset before the change */
		best = wall - offsets[0];
	return best;
}
