/* fetch.h: the parts of dq-fetch. Each source turns what it reads into dq
 * records and hands them to fetch_add; dq-fetch.c writes them out, sorted,
 * once everything has arrived. */
#ifndef FETCH_H
#define FETCH_H

#include "dq.h"

/* dq-fetch.c: keeps rec (the reference passes to the collector). */
void fetch_add(json_object *rec);
/* Adds key with value to rec, a string or JSON null. */
void fetch_set_str(json_object *rec, const char *key, const char *value);
/* Normalises an RFC 3339 time to UTC "...Z"; NULL when it is not one. */
const char *fetch_time(const char *s, char buf[DQ_TIMEBUF]);

/* Adds the absence [start, end) of In/Out type (NULL: none said) to the
 * list *away, made when NULL, unless type is one of --available-in-out,
 * which mean working elsewhere (DESIGN §5). Times are normalised. */
void fetch_away_add(json_object **away, const char *start, const char *end,
	const char *type);
/* Sorts the list (NULL: none) by start, then end, and says whether one of
 * its spans covers now: the member's status is then OFFLINE. */
bool fetch_away_settle(json_object *away);

/* fetch-snapshot.c: --from FILE; true when the snapshot set the clock. */
bool fetch_snapshot(const char *path);

/* fetch-csv.c: --csv-tickets FILE [--csv-members FILE] */
void fetch_csv(const char *tickets, const char *members);

/* fetch-cw.c: --connectwise */
void fetch_connectwise(void);

/* fetch-zone.c: ConnectWise time zone setups to IANA zones. */
struct fetch_zone_setup {
	const char *name;	/* the site's name for it */
	const char *windows;	/* its timeZone: a Windows zone id */
	bool listed;		/* found in /system/timeZoneSetups */
	bool has_offset;
	double offset;		/* hours east of UTC */
};
void fetch_zone_load(const char *path);
/* The IANA zone of a setup: --zone-map's, else CLDR's for its Windows
 * id, else (with a warning, once per setup) its fixed offset or NULL.
 * NULL, silently, for a setup with neither name nor Windows id. */
const char *fetch_zone(const struct fetch_zone_setup *setup);

/* windows-zones.c: CLDR's Windows zone ids and their IANA zones. */
struct fetch_windows_zone {
	const char *windows, *zone;
};
extern const struct fetch_windows_zone fetch_windows_zones[];
extern const size_t fetch_nwindows_zones;

#endif
