/* fetch-zone.c: ConnectWise names its time zones by setups such as
 * "GMT-5/Eastern Time: US & Canada" (or Windows ids such as "Eastern
 * Standard Time"), while dq works in IANA zones, which know daylight
 * saving. A name is looked up by its description (the part after the
 * first "/", or all of it) with case, spaces and punctuation ignored, so
 * "Eastern Time (US & Canada)" matches too. --zone-map FILE adds or
 * overrides names, one "IANA-ZONE NAME" a line. A name nobody mapped but
 * that starts with "GMT+H" falls back to the fixed offset Etc/GMT-H, with
 * a warning: right in winter at least, and easy to fix. */
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

/* The time zone setups a ConnectWise site ships with, and the Windows
 * ids its server reports (system/info serverTimeZone). */
static const struct zone_name builtin[] = {
	{ "Hawaii", "Pacific/Honolulu" },
	{ "Hawaiian Standard Time", "Pacific/Honolulu" },
	{ "Alaska", "America/Anchorage" },
	{ "Alaskan Standard Time", "America/Anchorage" },
	{ "Pacific Time: US & Canada", "America/Los_Angeles" },
	{ "Pacific Standard Time", "America/Los_Angeles" },
	{ "Arizona", "America/Phoenix" },
	{ "US Mountain Standard Time", "America/Phoenix" },
	{ "Mountain Time: US & Canada", "America/Denver" },
	{ "Mountain Standard Time", "America/Denver" },
	{ "Central Time: US & Canada", "America/Chicago" },
	{ "Central Standard Time", "America/Chicago" },
	{ "Saskatchewan", "America/Regina" },
	{ "Canada Central Standard Time", "America/Regina" },
	{ "Eastern Time: US & Canada", "America/New_York" },
	{ "Eastern Standard Time", "America/New_York" },
	{ "Indiana (East)", "America/Indiana/Indianapolis" },
	{ "US Eastern Standard Time", "America/Indiana/Indianapolis" },
	{ "Atlantic Time: Canada", "America/Halifax" },
	{ "Atlantic Standard Time", "America/Halifax" },
	{ "Newfoundland", "America/St_Johns" },
	{ "Newfoundland Standard Time", "America/St_Johns" },
	{ "Brasilia", "America/Sao_Paulo" },
	{ "E. South America Standard Time", "America/Sao_Paulo" },
	{ "Greenwich Mean Time: Dublin, Edinburgh, Lisbon, London",
	  "Europe/London" },
	{ "Dublin, Edinburgh, Lisbon, London", "Europe/London" },
	{ "GMT Standard Time", "Europe/London" },
	{ "UTC", "UTC" },
	{ "Coordinated Universal Time", "UTC" },
	{ "Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna", "Europe/Berlin" },
	{ "W. Europe Standard Time", "Europe/Berlin" },
	{ "Brussels, Copenhagen, Madrid, Paris", "Europe/Paris" },
	{ "Romance Standard Time", "Europe/Paris" },
	{ "Belgrade, Bratislava, Budapest, Ljubljana, Prague",
	  "Europe/Budapest" },
	{ "Central Europe Standard Time", "Europe/Budapest" },
	{ "Sarajevo, Skopje, Warsaw, Zagreb", "Europe/Warsaw" },
	{ "Central European Standard Time", "Europe/Warsaw" },
	{ "Athens, Bucharest", "Europe/Bucharest" },
	{ "GTB Standard Time", "Europe/Bucharest" },
	{ "Helsinki, Kyiv, Riga, Sofia, Tallinn, Vilnius", "Europe/Helsinki" },
	{ "FLE Standard Time", "Europe/Helsinki" },
	{ "Jerusalem", "Asia/Jerusalem" },
	{ "Israel Standard Time", "Asia/Jerusalem" },
	{ "Harare, Pretoria", "Africa/Johannesburg" },
	{ "South Africa Standard Time", "Africa/Johannesburg" },
	{ "Moscow, St. Petersburg", "Europe/Moscow" },
	{ "Russian Standard Time", "Europe/Moscow" },
	{ "Abu Dhabi, Muscat", "Asia/Dubai" },
	{ "Arabian Standard Time", "Asia/Dubai" },
	{ "Chennai, Kolkata, Mumbai, New Delhi", "Asia/Kolkata" },
	{ "India Standard Time", "Asia/Kolkata" },
	{ "Manila", "Asia/Manila" },
	{ "Beijing, Chongqing, Hong Kong, Urumqi", "Asia/Shanghai" },
	{ "China Standard Time", "Asia/Shanghai" },
	{ "Kuala Lumpur, Singapore", "Asia/Singapore" },
	{ "Singapore Standard Time", "Asia/Singapore" },
	{ "Perth", "Australia/Perth" },
	{ "W. Australia Standard Time", "Australia/Perth" },
	{ "Osaka, Sapporo, Tokyo", "Asia/Tokyo" },
	{ "Tokyo Standard Time", "Asia/Tokyo" },
	{ "Adelaide", "Australia/Adelaide" },
	{ "Cen. Australia Standard Time", "Australia/Adelaide" },
	{ "Darwin", "Australia/Darwin" },
	{ "AUS Central Standard Time", "Australia/Darwin" },
	{ "Brisbane", "Australia/Brisbane" },
	{ "E. Australia Standard Time", "Australia/Brisbane" },
	{ "Canberra, Melbourne, Sydney", "Australia/Sydney" },
	{ "AUS Eastern Standard Time", "Australia/Sydney" },
	{ "Hobart", "Australia/Hobart" },
	{ "Tasmania Standard Time", "Australia/Hobart" },
	{ "Auckland, Wellington", "Pacific/Auckland" },
	{ "New Zealand Standard Time", "Pacific/Auckland" },
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

/* "GMT+5:30/..." has no whole-hour Etc zone; only whole hours fall back. */
static const char *
fixed_offset(const char *name)
{
	static char zone[32];
	char *end;
	long h;

	if (strncasecmp(name, "GMT", 3) != 0)
		return NULL;
	if (name[3] == '/' || name[3] == '\0')
		return "Etc/GMT";
	if (name[3] != '+' && name[3] != '-')
		return NULL;
	h = strtol(name + 4, &end, 10);
	if (end == name + 4 || (*end != '/' && *end != '\0') || h > 14)
		return NULL;
	/* POSIX-style Etc names count west as positive. */
	snprintf(zone, sizeof zone, "Etc/GMT%c%ld", name[3] == '+' ? '-' : '+', h);
	return h ? zone : "Etc/GMT";
}

const char *
fetch_zone(const char *psa_name)
{
	char key[256];
	const char *zone;

	if (!psa_name || !*psa_name)
		return NULL;
	squash(psa_name, key, sizeof key);
	if ((zone = lookup(extra, nextra, key)) ||
	    (zone = lookup(builtin, sizeof builtin / sizeof builtin[0], key)))
		return zone;
	zone = fixed_offset(psa_name);
	if (!dq_strlist_has(&warned, psa_name) && !dq_policy.quiet) {
		if (zone)
			dq_warnx("time zone \"%s\": not in the zone map; using "
			    "the fixed offset %s (no daylight saving); map it "
			    "with --zone-map", psa_name, zone);
		else
			dq_warnx("time zone \"%s\": not in the zone map; member "
			    "left without \"tz\"; map it with --zone-map",
			    psa_name);
	}
	dq_strlist_add(&warned, psa_name);
	return zone;
}
