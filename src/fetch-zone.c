/* fetch-zone.c: ConnectWise gives each member a time zone setup, named
 * by the site ("GMT-5/Eastern Time: US & Canada", or anything else),
 * whose timeZone is a Windows zone id ("Eastern Standard Time"). dq works
 * in IANA zones, which know daylight saving: the Windows id maps to one
 * through CLDR's table (windows-zones.c). --zone-map FILE overrides it,
 * one "IANA-ZONE NAME" a line, NAME being a setup's name or a Windows id,
 * compared with case, spaces and punctuation ignored (a setup name's
 * "GMT-5/" prefix too, so "Eastern Time (US & Canada)" matches). A setup
 * neither maps falls back to its whole-hour offset as a fixed Etc zone,
 * with a warning: right in winter at least, and easy to fix. */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fetch.h"

struct zone_name {
	const char *name, *zone;
};

static struct zone_name *extra;		/* from --zone-map, searched first */
static size_t nextra;
static struct dq_strlist warned;

/* "GMT-5/Eastern Time: US & Canada" -> "easterntimeuscanada" */
static void
squash(const char *name, char *out, size_t size)
{
	const char *slash = strchr(name, '/');
	size_t n = 0;

	if (slash && !strncasecmp(name, "GMT", 3))
		name = slash + 1;
	for (; *name && n + 1 < size; name++)
		if (isalnum((unsigned char)*name))
			out[n++] = (char)tolower((unsigned char)*name);
	out[n] = '\0';
}

static const char *
lookup(const struct zone_name *v, size_t n, const char *key)
{
	char s[256];

	for (size_t i = 0; i < n; i++) {
		squash(v[i].name, s, sizeof s);
		if (!strcmp(s, key))
			return v[i].zone;
	}
	return NULL;
}

void
fetch_zone_load(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, lineno = 0, size = 0;
	ssize_t n;

	if (!fp)
		dq_die(DQ_EXIT_NOINPUT, "%s: %s", path, strerror(errno));
	while ((n = dq_getline(&line, &cap, fp, DQ_MAX_CONFIG)) != -1) {
		char *zone = line + strspn(line, " \t"), *name;

		if (n == DQ_LINE_TOO_LONG || (size += (size_t)n) > DQ_MAX_CONFIG)
			dq_die(DQ_EXIT_CONFIG, "%s: larger than %d MiB", path,
			    DQ_MAX_CONFIG >> 20);
		lineno++;
		zone[strcspn(zone, "\r\n")] = '\0';
		if (!*zone || *zone == '#')
			continue;
		name = zone + strcspn(zone, " \t");
		if (*name)
			*name++ = '\0';
		name += strspn(name, " \t");
		if (!*name || !dq_zone_valid(zone))
			dq_die(DQ_EXIT_CONFIG, "%s: line %zu: expected an IANA "
			    "zone and a ConnectWise time zone name", path, lineno);
		extra = xrealloc(extra, (nextra + 1) * sizeof *extra);
		extra[nextra++] = (struct zone_name){ xstrdup(name), xstrdup(zone) };
	}
	free(line);
	fclose(fp);
}

/* The Etc zone of a whole-hour offset east of UTC; "GMT+5:30" has none. */
static const char *
fixed_offset(const double *hours)
{
	static char zone[32];
	long h;

	if (!hours || !(*hours >= -12 && *hours <= 14) ||
	    *hours != (long)*hours)
		return NULL;
	if (!(h = (long)*hours))
		return "Etc/GMT";
	/* POSIX-style Etc names count west as positive. */
	snprintf(zone, sizeof zone, "Etc/GMT%+ld", -h);
	return zone;
}

static const char *
windows_zone(const char *id)
{
	for (size_t i = 0; id && i < fetch_nwindows_zones; i++)
		if (!strcasecmp(fetch_windows_zones[i].windows, id))
			return fetch_windows_zones[i].zone;
	return NULL;
}

const char *
fetch_zone(const struct fetch_zone_setup *setup)
{
	const char *name = setup->name, *windows = setup->windows;
	const char *zone = NULL;
	char key[256], why[160];

	if (name) {
		squash(name, key, sizeof key);
		zone = lookup(extra, nextra, key);
	}
	if (!zone && windows) {
		squash(windows, key, sizeof key);
		zone = lookup(extra, nextra, key);
	}
	if (zone || (zone = windows_zone(windows)) || !(name || windows))
		return zone;
	zone = fixed_offset(setup->has_offset ? &setup->offset : NULL);
	if (!name)
		name = windows;
	if (!setup->listed)
		snprintf(why, sizeof why, "not among /system/timeZoneSetups");
	else if (windows)
		snprintf(why, sizeof why, "Windows zone \"%s\" is not in "
		    "CLDR's table", windows);
	else
		snprintf(why, sizeof why, "no Windows zone id");
	if (!dq_strlist_has(&warned, name) && !dq_policy.quiet) {
		if (zone)
			dq_warnx("time zone setup \"%s\": %s; using the fixed "
			    "offset %s (no daylight saving); map it with "
			    "--zone-map", name, why, zone);
		else
			dq_warnx("time zone setup \"%s\": %s; member left "
			    "without \"tz\"; map it with --zone-map", name, why);
	}
	dq_strlist_add(&warned, name);
	return zone;
}
