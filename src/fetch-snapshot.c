/* fetch-snapshot.c: --from FILE, an NDJSON snapshot (a saved stream, or
 * one written by hand or by a script). Every record is checked the way
 * the later stages will read it, so a bad line is reported here, with its
 * number, rather than halfway down a pipeline; times are normalised to
 * UTC. The snapshot's run record lends its "now" unless --now is given;
 * the run gets a new id. */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fetch.h"

static const char *const time_fields[] = {
	"entered_at", "updated_at", "start", "end", "at", "closed_at",
	"last_dispatched_at", "last_seen_at", "created_at",
};

/* Rewrites each known time field in UTC; a field that is not a time is
 * a malformed record. */
static void
normalise_times(json_object *rec, const char *kind, const char *id)
{
	char buf[DQ_TIMEBUF];

	for (size_t i = 0; i < sizeof time_fields / sizeof time_fields[0]; i++) {
		json_object *v = dq_get(rec, time_fields[i]);
		const char *t;

		if (!v)
			continue;
		if (!(t = fetch_time(dq_get_str(rec, time_fields[i]), buf)))
			dq_die_data("%s %s: \"%s\" is not an RFC 3339 time",
			    kind, id ? id : "", time_fields[i]);
		if (strcmp(t, json_object_get_string(v)) != 0)
			fetch_set_str(rec, time_fields[i], t);
	}
}

/* A member's absences, each span's times in UTC too; the shape is the
 * library's to check. */
static void
normalise_away(json_object *rec, const char *id)
{
	json_object *away = dq_get(rec, "away");

	for (size_t i = 0; json_object_is_type(away, json_type_array) &&
	    i < json_object_array_length(away); i++) {
		json_object *span = json_object_array_get_idx(away, i);
		char *where;

		if (!json_object_is_type(span, json_type_object))
			continue;
		where = dq_asprintf("%s: away %zu", id ? id : "", i + 1);
		normalise_times(span, "member", where);
		free(where);
	}
}

static void
check_record(struct dq_context *ctx, const char *kind, json_object *rec)
{
	const char *id = dq_get_str(rec, "id");

	if (!strcmp(kind, "ticket") || !strcmp(kind, "company")) {
		id = dq_need_str(rec, kind, "id");
	} else if (!strcmp(kind, "entry")) {
		id = dq_need_str(rec, kind, "id");
		dq_need_str(rec, kind, "member");
		dq_need_str(rec, kind, "start");
		dq_need_str(rec, kind, "end");
	} else if (!strcmp(kind, "history") && !id) {
		id = dq_get_str(rec, "ticket");
	}
	normalise_times(rec, kind, id);
	if (!strcmp(kind, "member"))
		normalise_away(rec, id);
	/* The library's checks for the kinds the stages keep as context. */
	dq_context_add(ctx, kind, rec);
}

struct snap {
	struct dq_context *ctx;
	bool seen_run;
};

static void
on_record(struct dq_input *in, void *arg)
{
	struct snap *s = arg;

	if (!strcmp(in->kind, "run")) {
		/* The first run record is the snapshot's own instant. */
		if (!s->seen_run && dq_get_str(in->rec, "now")) {
			dq_clock_observe(in->rec);
			s->seen_run = true;
		}
		return;
	}
	check_record(s->ctx, in->kind, in->rec);
	fetch_add(json_object_get(in->rec));
}

bool
fetch_snapshot(const char *path)
{
	struct snap s = { dq_context_new(), false };
	FILE *fp = stdin;

	if (strcmp(path, "-") != 0 && !(fp = fopen(path, "r")))
		dq_die(DQ_EXIT_NOINPUT, "%s: %s", path, strerror(errno));
	dq_stream(fp, fp == stdin ? NULL : path, on_record, &s);
	if (fp != stdin)
		fclose(fp);
	dq_context_free(s.ctx);
	return s.seen_run;
}
