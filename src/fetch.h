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

/* fetch-snapshot.c: --from FILE; true when the snapshot set the clock. */
bool fetch_snapshot(const char *path);

/* fetch-csv.c: --csv-tickets FILE [--csv-members FILE] */
void fetch_csv(const char *tickets, const char *members);

/* fetch-cw.c: --connectwise */
void fetch_connectwise(void);

/* fetch-zone.c: ConnectWise time zone names to IANA zones. */
void fetch_zone_load(const char *path);
/* The IANA zone for a ConnectWise time zone setup name, or NULL (with a
 * warning, once per name). */
const char *fetch_zone(const char *psa_name);

#endif
