/* dq-fetch: reads one source (a snapshot, CSV files or ConnectWise) and
 * writes the dq stream: the run record, all context sorted by kind and
 * id, then the tickets by entered_at and id. Nothing is written until
 * every record has arrived, so a failed read never yields a half-informed
 * dispatch. */
#include <config.h>

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/linkhash.h>

#include "fetch.h"

struct held {
	json_object *rec;
	const char *kind, *key;	/* key: id, else ticket */
	bool ticket, has_entered;
	time_t entered;
	size_t seq;
};

static struct held *held;
static size_t nheld, capheld;
static struct lh_table *by_key;	/* "kind\037id" -> index + 1 in held */

static const char *
record_key(json_object *rec)
{
	const char *id = dq_get_str(rec, "id");

	return id ? id : dq_get_str(rec, "ticket");
}

static void
free_key(struct lh_entry *e)
{
	free(lh_entry_k(e));
}

/* A later record with the same kind and id replaces an earlier one, as
 * every stage would read it (DESIGN §2), so it is written once. */
void
fetch_add(json_object *rec)
{
	const char *key = record_key(rec);
	char *k;
	void *v;

	if (!by_key)
		by_key = lh_kchar_table_new(1024, free_key);
	if (key) {
		k = dq_asprintf("%s\037%s", dq_get_str(rec, "kind"), key);
		if (lh_table_lookup_ex(by_key, k, &v)) {
			struct held *h = &held[(uintptr_t)v - 1];

			json_object_put(h->rec);
			h->rec = rec;
			free(k);
			return;
		}
		lh_table_insert(by_key, k, (void *)(uintptr_t)(nheld + 1));
	}
	if (nheld == capheld) {
		capheld = capheld ? 2 * capheld : 256;
		held = xrealloc(held, capheld * sizeof *held);
	}
	held[nheld] = (struct held){ .rec = rec, .seq = nheld };
	nheld++;
}

void
fetch_set_str(json_object *rec, const char *key, const char *value)
{
	json_object_object_add(rec, key,
	    value ? json_object_new_string(value) : NULL);
}

const char *
fetch_time(const char *s, char buf[DQ_TIMEBUF])
{
	time_t t;

	if (!s || !dq_time_parse(s, &t))
		return NULL;
	return dq_time_format(t, buf);
}

void
fetch_away_add(json_object **away, const char *start, const char *end,
    const char *type)
{
	json_object *span;

	if (type && dq_strlist_has_icase(&dq_policy.available_in_out, type))
		return;
	if (!*away)
		*away = json_object_new_array();
	span = json_object_new_object();
	fetch_set_str(span, "start", start);
	fetch_set_str(span, "end", end);
	fetch_set_str(span, "type", type);
	json_object_array_add(*away, span);
}

static int
span_cmp(const void *a, const void *b)
{
	json_object *x = *(json_object *const *)a, *y = *(json_object *const *)b;
	int c = strcmp(dq_get_str(x, "start"), dq_get_str(y, "start"));

	return c ? c : strcmp(dq_get_str(x, "end"), dq_get_str(y, "end"));
}

bool
fetch_away_settle(json_object *away)
{
	time_t now = dq_now(), start, end;
	bool covered = false;

	if (!away)
		return false;
	/* Normalised times in one form sort as strings. */
	json_object_array_sort(away, span_cmp);
	for (size_t i = 0; i < json_object_array_length(away); i++) {
		json_object *span = json_object_array_get_idx(away, i);

		if (dq_time_parse(dq_get_str(span, "start"), &start) &&
		    dq_time_parse(dq_get_str(span, "end"), &end) &&
		    start <= now && now < end)
			covered = true;
	}
	return covered;
}

/* Ids that are numbers sort as numbers ("9" before "10"); the rest, and
 * numbers against the rest, as strings. */
static int
id_cmp(const char *a, const char *b)
{
	size_t la, lb;

	if (!a || !b)
		return (a != NULL) - (b != NULL);
	la = strlen(a);
	lb = strlen(b);
	if (la && lb && strspn(a, "0123456789") == la &&
	    strspn(b, "0123456789") == lb && la != lb)
		return la < lb ? -1 : 1;
	return strcmp(a, b);
}

static int
held_cmp(const void *pa, const void *pb)
{
	const struct held *a = pa, *b = pb;
	int c;

	if (a->ticket != b->ticket)
		return a->ticket ? 1 : -1;
	if (a->ticket) {
		/* A ticket without entered_at sorts first, like a null. */
		if (a->has_entered != b->has_entered)
			return a->has_entered ? 1 : -1;
		if (a->has_entered && a->entered != b->entered)
			return a->entered < b->entered ? -1 : 1;
	} else if ((c = strcmp(a->kind, b->kind))) {
		return c;
	}
	if ((c = id_cmp(a->key, b->key)))
		return c;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static void
sort_held(void)
{
	for (size_t i = 0; i < nheld; i++) {
		struct held *h = &held[i];

		h->kind = dq_get_str(h->rec, "kind");
		h->key = record_key(h->rec);
		h->ticket = !strcmp(h->kind, "ticket");
		h->has_entered = h->ticket && dq_time_parse(
		    dq_get_str(h->rec, "entered_at"), &h->entered);
	}
	if (nheld > 1)
		qsort(held, nheld, sizeof *held, held_cmp);
}

/* "dq-20261121T141000Z-1a2b3c4d": the same for the same instant, source
 * and settings, so a replay (--now, or a snapshot's own run record) is
 * reproducible; a run on the clock also hashes its process id, so two
 * runs in one second differ. */
static json_object *
run_record(const char *source, bool replay)
{
	char now[DQ_TIMEBUF], stamp[DQ_TIMEBUF], hex[65], *seed;
	const char *digest = dq_policy_digest(DQ_FETCH, NULL, 0);
	unsigned char md[32];
	struct dq_sha256 c;
	json_object *run = json_object_new_object();
	size_t j = 0;

	dq_time_format(dq_now(), now);
	for (const char *p = now; *p; p++)
		if (isalnum((unsigned char)*p))
			stamp[j++] = *p;
	stamp[j] = '\0';
	seed = dq_asprintf("%s\n%s\n%s\n%ld", now, source, digest,
	    replay ? 0L : (long)getpid());
	dq_sha256_init(&c);
	dq_sha256_update(&c, seed, strlen(seed));
	dq_sha256_final(&c, md);
	dq_hex(md, 4, hex);
	free(seed);
	json_object_object_add(run, "kind", json_object_new_string("run"));
	json_object_object_add(run, "id", json_object_new_string(
	    (seed = dq_asprintf("dq-%s-%s", stamp, hex))));
	free(seed);
	json_object_object_add(run, "now", json_object_new_string(now));
	return run;
}

static void
write_all(const char *source, bool replay)
{
	json_object *run = run_record(source, replay);

	sort_held();
	dq_write(run);
	json_object_put(run);
	for (size_t i = 0; i < nheld; i++) {
		/* --ticket narrows any source to those tickets. */
		if (!held[i].ticket || !dq_policy.tickets.n ||
		    dq_strlist_has(&dq_policy.tickets, held[i].key))
			dq_write(held[i].rec);
		json_object_put(held[i].rec);
	}
	free(held);
	if (by_key)
		lh_table_free(by_key);
}

/* Exactly one source; which one names the run. */
static const char *
pick_source(int argc, char **argv, int first)
{
	const char *names[3];
	int n = 0;

	if (first < argc)
		dq_usage("unexpected operand \"%s\"", argv[first]);
	if (dq_policy.connectwise)
		names[n++] = "--connectwise";
	if (dq_policy.from)
		names[n++] = "--from";
	if (dq_policy.csv_tickets)
		names[n++] = "--csv-tickets";
	if (dq_policy.csv_members && !dq_policy.csv_tickets)
		dq_usage("--csv-members needs --csv-tickets");
	if (n > 1)
		dq_usage("give only one source");
	if (n == 0)
		dq_usage("no source: give --connectwise, --from FILE or "
		    "--csv-tickets FILE");
	return names[0];
}

int
main(int argc, char **argv)
{
	const char *source;
	bool replay = false;
	int first;

	first = dq_policy_load(argc, argv, DQ_FETCH,
	    "[options] --connectwise\n"
	    "       dq-fetch [options] --from FILE\n"
	    "       dq-fetch [options] --csv-tickets FILE [--csv-members FILE]",
	    "Read tickets and their context from one source; write the dq "
	    "stream.");
	source = pick_source(argc, argv, first);
	if (dq_policy.from)
		replay = fetch_snapshot(dq_policy.from);
	else if (dq_policy.csv_tickets)
		fetch_csv(dq_policy.csv_tickets, dq_policy.csv_members);
	else
		fetch_connectwise();
	write_all(source, replay || dq_policy.now_set);
	return dq_close_stdout(0);
}
