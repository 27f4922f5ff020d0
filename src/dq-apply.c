/* dq-apply: the decisions of a stream, shown (a dry run, the default) or,
 * with --commit, written to the PSA, every outcome journaled.
 *
 * A commit takes each ticket through: an intent in the journal (refused
 * while another live run holds one for it), a re-read of the ticket, one
 * JSON-Patch of owner, team and status, the schedule entry of its slot,
 * the internal note, and an outcome in the journal. Tickets go side by
 * side, at most --parallel at once, each a chain of requests that starts
 * only when there is room for it, so the re-read that guards a write comes
 * just before the write.
 *
 * Before its own tickets, under the journal's lock, a commit finishes the
 * tickets of runs that died between their intent and their outcome: the
 * intent holds the record and the changes planned, so the same chain,
 * from the re-read on, completes them whatever the stream holds. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wchar.h>

#include <csv.h>

#include "dq.h"
#include "apply.h"

/* A POST that failed in transit is retried after a look shows it did not
 * arrive; this many times in all. */
#define POST_ATTEMPTS 3
/* Runners-up named in a note. */
#define NOTE_RUNNERS_UP 3

enum format { FORMAT_NDJSON, FORMAT_TABLE, FORMAT_CSV };

/* What the PSA shows of a ticket: as the record read it (expect), and as
 * the decision leaves it (want). */
struct state {
	const char *owner, *team, *status, *board;
};

struct job {
	json_object *rec;	/* the ticket */
	char *line;		/* as it came, for the output */
	size_t len;
	bool compact;
	long seq;		/* its place among the stream's tickets */
	const char *id;
	long psa_id;
	bool decides;		/* an owner or a team was decided */
	bool writes;		/* the decision or a slot wants writing */
	struct state expect, want;
	json_object *patch;	/* JSON-Patch operations; NULL: none */
	json_object *entry;	/* the schedule entry to create; NULL: none */
	long entry_id;		/* the entry's id, once made or found */
	long old_entry;		/* the entry dq made for the previous owner,
				 * to delete first; 0: none */
	char *note;		/* the internal note; NULL: none */
	json_object *changes;	/* the writes sent (a dry run: would be) */
	const char *outcome;
	char *error;
	int exit;
	bool wrote;		/* a write of this run went through */
	bool look_entry, look_note;	/* may exist already: look first */
	/* --target webhook */
	const char *url;	/* the chosen agent's webhook */
	json_object *payload;	/* the AGENT_ASSIGNED event */
	char *delivery;
	const char *webhook;	/* "sent", "pending-approval", "deferred" */
	int posts;		/* POST attempts of the step under way */
	char psa_team[24];	/* the re-read ticket's team, as a string */
	long status_id;		/* the status the PATCH sets; 0: none */
	json_object *intent;	/* the intent line of a dead run this job
				 * finishes; NULL: a ticket of the stream */
};

static struct dq_context *ctx;
static enum format format;
static bool commit, to_psa, to_webhook;
static char *run_id;
static struct dq_cw *cw;	/* the PSA's client, or the webhooks' */
static struct dq_journal *journal;
static struct job **jobs;	/* the stream's tickets */
static size_t njobs;
static struct job **queue;	/* the jobs launch starts, in turn */
static size_t nqueue, next_job;
static json_object *finished;	/* ticket -> "run R (pid P)": a dead run's
				 * intent finished by this run */
static json_object *finished_entries;	/* the entry bodies of those */
static long active;
static bool launching;
static int status;	/* the exit status so far */
/* A commit's output waits for the writes: lines of other records are
 * kept, in order, with the tickets'. */
static struct item {
	char *line;
	struct job *job;
} *items;
static size_t nitems;
static json_object *seen;	/* ticket -> [its item, its line number] */
static json_object *events;	/* event records, journaled on commit */
static struct dq_holdings *holdings;	/* the journal's, as it was read
					 * before the stream: for planning */


static bool
same(const char *a, const char *b, bool icase)
{
	if (!a || !b)
		return !a && !b;
	return icase ? !strcasecmp(a, b) : !strcmp(a, b);
}

/* Members are compared as ConnectWise compares identifiers. */
static bool
same_state(const struct state *a, const struct state *b)
{
	return same(a->owner, b->owner, true) && same(a->team, b->team, false) &&
	    same(a->status, b->status, false) && same(a->board, b->board, false);
}

/* Planning: the exact requests a decision takes */

static void
fail(struct job *jb, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
fail(struct job *jb, int code, const char *fmt, ...)
{
	va_list ap;

	if (jb->error)
		return;
	va_start(ap, fmt);
	if (vasprintf(&jb->error, fmt, ap) < 0)
		dq_out_of_memory();
	va_end(ap);
	jb->exit = code;
}

static long
psa_number(json_object *rec, const char *key)
{
	json_object *v = dq_get(dq_get(rec, "psa"), key);

	return json_object_is_type(v, json_type_int) ?
	    (long)json_object_get_int64(v) : 0;
}

/* A reference object: by ConnectWise id where the stream carries it. */
static json_object *
ref(const char *key, long id, const char *name)
{
	json_object *o = json_object_new_object();

	if (id > 0)
		json_object_object_add(o, "id", json_object_new_int64(id));
	else
		json_object_object_add(o, key, json_object_new_string(name));
	return o;
}

static json_object *
member_ref(const char *id)
{
	struct dq_member *m = dq_member_get(ctx, id);

	return ref("identifier", m ? psa_number(m->rec, "id") : 0, id);
}

/* A team's id is its ConnectWise number as a string (DESIGN §5). */
static json_object *
team_ref(struct job *jb, const char *id)
{
	struct dq_team *t = dq_team_get(ctx, id);
	long n = t ? psa_number(t->rec, "id") : 0;
	char *end;

	if (n > 0)
		return ref("id", n, NULL);
	n = strtol(id, &end, 10);
	if (n <= 0 || *end) {
		fail(jb, DQ_EXIT_DATA, "team \"%s\" has no ConnectWise id", id);
		return NULL;
	}
	return ref("id", n, NULL);
}

/* Status names are resolved to the ids of the ticket's board, which the
 * board record carries in psa.statuses. */
static json_object *
status_ref(struct job *jb, const char *board, const char *name)
{
	json_object *ids = dq_get(dq_get(dq_board_get(ctx, board), "psa"),
	    "statuses");
	json_object *id = dq_get(ids, name);

	if (!json_object_is_type(id, json_type_int) ||
	    json_object_get_int64(id) <= 0) {
		fail(jb, DQ_EXIT_DATA, "board \"%s\" has no status \"%s\" in "
		    "the stream's board record", board ? board : "", name);
		return NULL;
	}
	return ref("id", (long)json_object_get_int64(id), NULL);
}

json_object *
dq_apply_change(const char *method, const char *path, json_object *body)
{
	json_object *c = json_object_new_object();

	json_object_object_add(c, "method", json_object_new_string(method));
	json_object_object_add(c, "path",
	    path ? json_object_new_string(path) : NULL);
	json_object_object_add(c, "body", json_object_get(body));
	return c;
}

static void
add_op(json_object *ops, const char *path, json_object *value)
{
	json_object *op = json_object_new_object();

	json_object_object_add(op, "op", json_object_new_string("replace"));
	json_object_object_add(op, "path", json_object_new_string(path));
	json_object_object_add(op, "value", value);
	json_object_array_add(ops, op);
}

static const char *
member_name(const char *id)
{
	struct dq_member *m = dq_member_get(ctx, id);
	const char *name = m ? dq_get_str(m->rec, "name") : NULL;

	return name ? name : id;
}

static const char *
team_name(const char *id)
{
	struct dq_team *t = dq_team_get(ctx, id);

	return t && t->name ? t->name : id;
}

/* "Tue 10 Mar 10:10": t on the wall clock of zone (NULL: UTC). */
static void
wall_time(const char *zone, time_t t, bool with_day, char *buf, size_t len)
{
	struct tm tm;

	dq_zone_local(zone ? zone : "UTC", t, &tm);
	strftime(buf, len, with_day ? "%a %d %b %H:%M" : "%H:%M", &tm);
}

/* "Booked Tue 10 Mar 10:10 to 10:40, America/New_York time.": the slot
 * as the member's own calendar shows it. */
static void
note_slot(struct dq_buf *b, json_object *slot)
{
	const char *member = dq_get_str(slot, "member");
	struct dq_member *m = member ? dq_member_get(ctx, member) : NULL;
	const char *zone = m && m->tz ? m->tz : "UTC";
	char from[64], to[64];
	struct tm a, z;
	time_t s, e;

	if (!dq_time_parse(dq_get_str(slot, "start") ? dq_get_str(slot,
	    "start") : "", &s) || !dq_time_parse(dq_get_str(slot, "end") ?
	    dq_get_str(slot, "end") : "", &e))
		return;
	dq_zone_local(zone, s, &a);
	dq_zone_local(zone, e, &z);
	wall_time(zone, s, true, from, sizeof from);
	wall_time(zone, e, a.tm_yday != z.tm_yday, to, sizeof to);
	dq_buf_printf(b, " Booked %s to %s, %s time.", from, to, zone);
}

/* A runner-up as the mode measured it: "Manny Doe (3 open tickets)". */
static void
note_runner_up(struct dq_buf *b, const char *mode, json_object *c)
{
	const char *id = dq_get_str(c, "id");
	json_object *score = dq_get(c, "score");
	const char *n = score ? json_object_get_string(score) : NULL;

	dq_buf_printf(b, "%s", member_name(id));
	if (n && mode && !strcmp(mode, "LEAST_ACTIVE"))
		dq_buf_printf(b, " (%s open ticket%s)", n, strcmp(n, "1") ? "s" : "");
	else if (n && mode && !strcmp(mode, "CAPABILITY_MATCH"))
		dq_buf_printf(b, " (%s matching label%s)", n,
		    strcmp(n, "1") ? "s" : "");
}

/* One paragraph as a dispatcher would write it: who, why in words, the
 * booked slot in the member's own time, who came next when the mode
 * ranked them, and which run and configuration decided. */
static char *
note_text(json_object *t)
{
	json_object *d = dq_get(t, "dispatch"), *cands = dq_get(d, "candidates");
	const char *chosen = dq_get_str(d, "chosen"), *team = dq_get_str(d, "team");
	const char *mode = dq_get_str(d, "mode"), *reason = dq_get_str(d, "reason");
	const char *config = dq_get_str(d, "config");
	size_t shown = 0, n = json_object_is_type(cands, json_type_array) ?
	    json_object_array_length(cands) : 0, others = 0;
	/* A rule that named the owner ranked nobody; one that narrowed
	 * the candidates left the ranking to the mode. */
	bool ranked = chosen && reason && (strncmp(reason, "rule:", 5) != 0 ||
	    strchr(reason, ','));
	struct dq_buf b = { 0 };
	char *why = dq_reason_words(reason);

	if (chosen) {
		dq_buf_printf(&b, "dq assigned this ticket to %s", member_name(chosen));
		if (team)
			dq_buf_printf(&b, " of team %s", team_name(team));
	} else {
		dq_buf_printf(&b, "dq gave this ticket to team %s, with no owner",
		    team ? team_name(team) : "?");
	}
	dq_buf_printf(&b, ". Why: %s.", why);
	free(why);
	note_slot(&b, dq_get(t, "slot"));
	for (size_t i = 0; ranked && i < n; i++) {
		json_object *c = json_object_array_get_idx(cands, i);
		const char *id = dq_get_str(c, "id");

		if (!id || same(id, chosen, false))
			continue;
		if (shown == NOTE_RUNNERS_UP) {
			others++;
			continue;
		}
		dq_buf_printf(&b, "%s", shown ? ", " : " Next in line: ");
		note_runner_up(&b, mode, c);
		shown++;
	}
	if (others)
		dq_buf_printf(&b, " and %zu more", others);
	if (shown)
		dq_buf_add(&b, ".", 1);
	else if (ranked)
		dq_buf_printf(&b, " Nobody else was eligible.");
	dq_buf_printf(&b, " Run %s%s%s.", run_id, config ? ", configuration " : "",
	    config ? config : "");
	return dq_buf_take(&b);
}

static json_object *
entry_body(struct job *jb, json_object *slot)
{
	const char *member = dq_get_str(slot, "member");
	char start[DQ_TIMEBUF], end[DQ_TIMEBUF];
	json_object *body, *type;
	time_t s, e;

	if (!member || !dq_time_parse(dq_get_str(slot, "start"), &s) ||
	    !dq_time_parse(dq_get_str(slot, "end"), &e)) {
		fail(jb, DQ_EXIT_DATA, "\"slot\" needs member, start and end");
		return NULL;
	}
	body = json_object_new_object();
	type = json_object_new_object();
	json_object_object_add(body, "objectId", json_object_new_int64(jb->psa_id));
	/* Type S: a service ticket, objectId its number. */
	json_object_object_add(type, "identifier", json_object_new_string("S"));
	json_object_object_add(body, "type", type);
	json_object_object_add(body, "member", member_ref(member));
	json_object_object_add(body, "dateStart", json_object_new_string(
	    dq_time_format(s, start)));
	json_object_object_add(body, "dateEnd", json_object_new_string(
	    dq_time_format(e, end)));
	/* dq-schedule kept the slot clear of the entries it saw; one that
	 * appeared since is ConnectWise's to refuse, not ours to overbook. */
	json_object_object_add(body, "allowScheduleConflictsFlag",
	    json_object_new_boolean(false));
	return body;
}

static json_object *
note_body(const char *text)
{
	json_object *body = json_object_new_object();

	json_object_object_add(body, "text", json_object_new_string(text));
	json_object_object_add(body, "detailDescriptionFlag",
	    json_object_new_boolean(false));
	json_object_object_add(body, "internalAnalysisFlag",
	    json_object_new_boolean(true));
	json_object_object_add(body, "resolutionFlag",
	    json_object_new_boolean(false));
	/* For the desk's eyes: no mail goes out about it. */
	json_object_object_add(body, "processNotifications",
	    json_object_new_boolean(false));
	return body;
}

/* "/service/tickets/5001" and the like: paths below the API base, as the
 * changes show them; the client takes them without the slash. */
static char *
ticket_path(long id, const char *below)
{
	return dq_asprintf("/service/tickets/%ld%s", id, below);
}

/* The writes that put a decision and its slot into ConnectWise, judged
 * against the ticket as its record has it. */
static void
plan_connectwise(struct job *jb, json_object *d, bool decides)
{
	const char *decision = dq_get_str(d, "outcome");
	json_object *slot = dq_get(jb->rec, "slot"), *v;

	if ((jb->psa_id = psa_number(jb->rec, "id")) <= 0) {
		fail(jb, DQ_EXIT_DATA, "no psa.id: not a ConnectWise ticket");
		return;
	}
	if (decides) {
		if (!strcmp(decision, "assigned") &&
		    !(jb->want.owner = dq_get_str(d, "chosen"))) {
			fail(jb, DQ_EXIT_DATA, "an assigned decision without "
			    "\"chosen\"");
			return;
		}
		if (dq_get_str(d, "team"))
			jb->want.team = dq_get_str(d, "team");
		/* An owner starts the work; a team alone is still queued. */
		if (!strcmp(decision, "assigned") && dq_policy.status_after)
			jb->want.status = dq_policy.status_after;
		else if (!strcmp(decision, "team") && dq_policy.team_status_after)
			jb->want.status = dq_policy.team_status_after;
		jb->patch = json_object_new_array();
		if (!same(jb->want.owner, jb->expect.owner, true))
			add_op(jb->patch, "owner", member_ref(jb->want.owner));
		if (!same(jb->want.team, jb->expect.team, false) &&
		    (v = team_ref(jb, jb->want.team)))
			add_op(jb->patch, "team", v);
		if (!same(jb->want.status, jb->expect.status, false) &&
		    (v = status_ref(jb, jb->want.board, jb->want.status))) {
			jb->status_id = (long)json_object_get_int64(dq_get(v, "id"));
			add_op(jb->patch, "status", v);
		}
		if (json_object_array_length(jb->patch) == 0) {
			json_object_put(jb->patch);
			jb->patch = NULL;
		}
		if (dq_policy.note)
			jb->note = note_text(jb->rec);
	}
	if (dq_get_str(slot, "start"))
		jb->entry = entry_body(jb, slot);
}

/* An agent is told by a POST to its webhook, now or, held for approval
 * or deferred, by a later dq-apply --approve or --start. */
static void
plan_webhook(struct job *jb, json_object *d)
{
	const char *chosen = dq_get_str(d, "chosen");
	struct dq_member *m = chosen ? dq_member_get(ctx, chosen) : NULL;
	const char *why;

	if (!chosen) {
		fail(jb, DQ_EXIT_DATA, "an assigned decision without \"chosen\"");
		return;
	}
	jb->want.owner = chosen;
	if (!m || !(jb->url = dq_get_str(m->rec, "webhook"))) {
		fail(jb, DQ_EXIT_DATA, "member %s has no webhook", chosen);
		return;
	}
	if ((why = dq_http_refusal(jb->url))) {
		fail(jb, DQ_EXIT_DATA, "member %s: webhook %s", chosen, why);
		return;
	}
	jb->payload = dq_agent_assigned(jb->rec, dq_now());
	jb->delivery = dq_webhook_delivery(run_id, jb->id, chosen);
	jb->webhook = dq_policy.require_approval ? "pending-approval" :
	    !dq_policy.auto_start ? "deferred" : "sent";
}

static json_object *
delivery_json(struct job *jb)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_string(jb->delivery));
	json_object_object_add(o, "url", json_object_new_string(jb->url));
	json_object_object_add(o, "body", json_object_get(jb->payload));
	/* So that approving it keeps it waiting for --start. */
	if (!dq_policy.auto_start)
		json_object_object_add(o, "auto_start",
		    json_object_new_boolean(false));
	return o;
}

/* The writes of the plan: what a dry run shows and an intent records. */
static json_object *
planned_changes(struct job *jb)
{
	json_object *all = json_object_new_array(), *body;
	char *path;

	if (jb->error)
		return all;
	if (jb->payload && !strcmp(jb->webhook, "sent"))
		json_object_array_add(all, dq_apply_change("POST", jb->url, jb->payload));
	if (jb->patch) {
		path = ticket_path(jb->psa_id, "");
		json_object_array_add(all, dq_apply_change("PATCH", path, jb->patch));
		free(path);
	}
	if (jb->old_entry) {
		path = dq_asprintf("/schedule/entries/%ld", jb->old_entry);
		json_object_array_add(all, dq_apply_change("DELETE", path, NULL));
		free(path);
	}
	if (jb->entry)
		json_object_array_add(all, dq_apply_change("POST", "/schedule/entries",
		    jb->entry));
	if (jb->note) {
		path = ticket_path(jb->psa_id, "/notes");
		body = note_body(jb->note);
		json_object_array_add(all, dq_apply_change("POST", path, body));
		json_object_put(body);
		free(path);
	}
	return all;
}

/* The calendar entry to delete before the ticket is booked again: the
 * one dq made for the owner a watchdog took it from, as the journal
 * holds it. Entries dq did not make are never touched. */
static long
old_entry(struct job *jb, const struct dq_holding *h)
{
	json_object *watch = dq_get(jb->rec, "watch");

	if (!to_psa || !dq_get_bool(watch, "clear", false) || !h->entry ||
	    !h->member || !jb->want.owner ||
	    !same(h->member, dq_get_str(watch, "previous_owner"), true) ||
	    same(h->member, jb->want.owner, true))
		return 0;
	return h->entry;
}

/* The ticket as its record has it, which the PSA must still show for a
 * write to go ahead. */
static void
expectation(struct job *jb)
{
	json_object *t = jb->rec, *watch = dq_get(t, "watch");

	jb->expect = (struct state){ dq_get_str(t, "owner"),
	    dq_get_str(t, "team"), dq_get_str(t, "status"),
	    dq_get_str(t, "board") };
	/* dq-watch cleared it: the PSA still shows the previous owner. */
	if (dq_get_bool(watch, "clear", false))
		jb->expect.owner = dq_get_str(watch, "previous_owner");
	jb->want = jb->expect;
}

static void
plan(struct job *jb)
{
	json_object *t = jb->rec, *d = dq_get(t, "dispatch");
	const char *decision = dq_get_str(d, "outcome");
	bool decides = jb->decides = decision && (!strcmp(decision,
	    "assigned") || !strcmp(decision, "team"));
	struct dq_holding h;

	expectation(jb);
	/* Held, unassigned, skipped and manual tickets are journaled, not
	 * written; a slot that dq-schedule booked is written, also on an
	 * owned ticket it booked with --backfill. */
	jb->writes = decides || dq_get_str(dq_get(t, "slot"), "start");
	if (jb->writes && to_psa) {
		plan_connectwise(jb, d, decides);
		dq_holding(holdings, jb->id, &h);
		jb->old_entry = old_entry(jb, &h);
		/* Already as decided, by the record: nothing to write. */
		if (!jb->error && !jb->patch && !jb->entry && !jb->note &&
		    !jb->old_entry)
			jb->writes = false;
	}
	/* An agent hears of owned work only; a team or a slot is the
	 * workspace's to show. */
	if (to_webhook) {
		jb->writes = decides && !strcmp(decision, "assigned");
		if (jb->writes)
			plan_webhook(jb, d);
	}
	jb->changes = commit ? json_object_new_array() : planned_changes(jb);
}

static json_object *
applied_json(struct job *jb, bool planned)
{
	json_object *a = json_object_new_object();
	const char *left;

	json_object_object_add(a, "target", json_object_new_string(
	    to_psa ? "connectwise" : to_webhook ? "webhook" : "none"));
	json_object_object_add(a, "commit", json_object_new_boolean(commit));
	if (!planned)
		json_object_object_add(a, "outcome",
		    json_object_new_string(jb->outcome));
	/* A dry run says what it would do, never that it did. */
	if (jb->webhook && !jb->error)
		json_object_object_add(a, "webhook", json_object_new_string(
		    !commit && !strcmp(jb->webhook, "sent") ? "would-send" :
		    jb->webhook));
	/* The status dq leaves, for the journal's readers (dq_holding); a
	 * dead run's intent names it for the run that finishes its work. */
	left = jb->want.status ? jb->want.status : dq_get_str(dq_get(dq_get(
	    jb->intent, "record"), "applied"), "status");
	if (commit && jb->decides && (to_psa || to_webhook) && left &&
	    (planned || !strcmp(jb->outcome, "applied") ||
	    !strcmp(jb->outcome, "unchanged")))
		json_object_object_add(a, "status",
		    json_object_new_string(left));
	if (!planned && jb->entry_id)
		json_object_object_add(a, "entry",
		    json_object_new_int64(jb->entry_id));
	json_object_object_add(a, "changes", planned ? planned_changes(jb) :
	    json_object_get(jb->changes));
	/* What a later --approve or --start sends, and a re-run resends. */
	if (jb->payload)
		json_object_object_add(a, "delivery", delivery_json(jb));
	if (!planned && jb->error)
		json_object_object_add(a, "error",
		    json_object_new_string(jb->error));
	return a;
}

/* Failures are errors; a conflict is an outcome, said unless --quiet. */
static void
report(struct job *jb)
{
	if (!jb->error)
		return;
	if (!strcmp(jb->outcome, "conflict")) {
		if (!dq_policy.quiet)
			dq_warnx("ticket %s: conflict: %s", jb->id, jb->error);
		return;
	}
	dq_warnx("ticket %s: %s", jb->id, jb->error);
	status = dq_exit_worse(status, jb->exit);
}

/* Output */

/* The table fits the terminal: its width from COLUMNS, else the
 * terminal's, else 120. REASON comes last and takes what is left,
 * wrapping rather than losing the end of a reason; SUMMARY alone is cut. */
static int table_width = 120;
static int summary_width, reason_width, applied_width;
static const char *table_zone;	/* slot times are shown in it */
static size_t tally_decision[8], tally_outcome[8], tally_tickets;
static const char *const decisions[] = { "assigned", "team", "held",
	"unassigned", "skipped", "manual", "other", NULL };
static const char *const outcomes[] = { "dry-run", "applied", "unchanged",
	"conflict", "failed", "other", NULL };

enum { TICKET_W = 7, DECISION_W = 10, WHO_W = 14, SLOT_W = 11 };

/* The display width of one character at s (len bytes long), which is
 * 2 for most CJK and emoji, 0 for combining marks; *n its bytes. */
static int
char_width(const char *s, size_t len, size_t *n)
{
	mbstate_t st = { 0 };
	wchar_t wc;
	size_t r = mbrtowc(&wc, s, len, &st);
	int w;

	if (r == 0 || r == (size_t)-1 || r == (size_t)-2) {
		*n = 1;
		return 1;
	}
	*n = r;
	w = wcwidth(wc);
	return w < 0 ? 1 : w;
}

static int
text_width(const char *s)
{
	size_t len = strlen(s), n;
	int w = 0;

	for (size_t i = 0; i < len; i += n)
		w += char_width(s + i, len - i, &n);
	return w;
}

/* Writes the bytes of s that fit in width columns, control characters
 * shown as spaces (a summary cannot move the cursor); returns the
 * columns used and sets *used to the bytes written. */
static int
put_fitting(const char *s, int width, size_t *used)
{
	size_t len = strlen(s), n, i = 0;
	int w = 0;

	while (i < len) {
		int cols = char_width(s + i, len - i, &n);

		if (w + cols > width)
			break;
		for (size_t k = 0; k < n; k++)
			putchar((unsigned char)s[i + k] < 0x20 || s[i + k] == 0x7f ?
			    ' ' : s[i + k]);
		w += cols;
		i += n;
	}
	*used = i;
	return w;
}

/* A cell of width columns, cut with "..." when s is wider, padded. */
static void
cell(const char *s, int width)
{
	size_t used;
	int w;

	if (text_width(s) <= width) {
		w = put_fitting(s, width, &used);
	} else {
		w = put_fitting(s, width > 3 ? width - 3 : 0, &used);
		w += printf("%.*s", width < 3 ? width : 3, "...");
	}
	printf("%*s", width - w + 1, "");
}

/* The last cell: s in lines of at most width columns, broken after a
 * comma, colon, hyphen or space where there is one, each continuation indented to the
 * column where the cell starts. */
static void
wrapped_cell(const char *s, int indent, int width)
{
	while (*s) {
		size_t len = strlen(s), fit = 0, n, brk = 0;
		int w = 0;

		while (fit < len) {
			int cols = char_width(s + fit, len - fit, &n);

			if (w + cols > width && fit > 0)
				break;
			w += cols;
			fit += n;
			if (strchr(", :-", s[fit - 1]))
				brk = fit;
		}
		if (fit < len && brk > 0)
			fit = brk;
		for (size_t k = 0; k < fit; k++)
			putchar((unsigned char)s[k] < 0x20 || s[k] == 0x7f ?
			    ' ' : s[k]);
		putchar('\n');
		s += fit;
		if (*s)
			printf("%*s", indent, "");
	}
}

static const char *
or_dash(const char *s)
{
	return s && *s ? s : "-";
}

/* The zone slots are shown in: --tz, else TZ, else /etc/localtime's
 * name, else UTC. */
static const char *
local_zone(void)
{
	static char name[256];
	const char *tz = getenv("TZ");
	ssize_t n;
	char *z;

	if (dq_policy.tz)
		return dq_policy.tz;
	if (tz && *tz == ':')
		tz++;
	if (tz && *tz && dq_zone_valid(tz))
		return tz;
	n = readlink("/etc/localtime", name, sizeof name - 1);
	if (n > 0) {
		name[n] = '\0';
		if ((z = strstr(name, "zoneinfo/")) && dq_zone_valid(z + 9))
			return z + 9;
	}
	return "UTC";
}

/* "11-23 10:40": a slot's start on the table's clock. */
static const char *
short_time(const char *t, char *buf, size_t len)
{
	struct tm tm;
	time_t at;

	if (!t || !dq_time_parse(t, &at))
		return "-";
	dq_zone_local(table_zone, at, &tm);
	strftime(buf, len, "%m-%d %H:%M", &tm);
	return buf;
}

static void
table_header(void)
{
	const char *cols = getenv("COLUMNS");
	struct winsize ws;
	char *end;
	long n;
	int fixed;

	/* Any UTF-8 locale will do to measure characters; the bytes
	 * written are the stream's own. */
	if (!setlocale(LC_CTYPE, "C.UTF-8"))
		setlocale(LC_CTYPE, "");
	if (cols && *cols && (n = strtol(cols, &end, 10)) > 0 && !*end &&
	    n <= 1000)
		table_width = (int)n;
	else if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		table_width = ws.ws_col;
	table_zone = local_zone();
	applied_width = to_webhook ? 24 : 9;
	fixed = TICKET_W + DECISION_W + WHO_W + SLOT_W + applied_width + 6;
	/* Half of what is left for the summary (at most 40 columns), the
	 * rest for the reason; on a narrow terminal the summary gives way
	 * first, down to 8. */
	summary_width = (table_width - fixed) / 2;
	if (summary_width > 40)
		summary_width = 40;
	if (table_width - fixed - summary_width < 16)
		summary_width = table_width - fixed - 16;
	if (summary_width < 8)
		summary_width = 8;
	reason_width = table_width - fixed - summary_width;
	if (reason_width < 8)
		reason_width = 8;
	cell("TICKET", TICKET_W);
	cell("SUMMARY", summary_width);
	cell("DECISION", DECISION_W);
	cell("OWNER/TEAM", WHO_W);
	cell("SLOT", SLOT_W);
	cell("APPLIED", applied_width);
	printf("REASON\n");
}

static void
tally(size_t *counts, const char *const *names, const char *s)
{
	size_t i;

	for (i = 0; names[i + 1] && !(s && !strcmp(s, names[i])); i++)
		;
	counts[i]++;
}

static void
table_row(struct job *jb)
{
	json_object *d = dq_get(jb->rec, "dispatch");
	const char *decision = dq_get_str(d, "outcome");
	const char *who = dq_get_str(d, "chosen"), *team = dq_get_str(d, "team");
	char buf[128], when[32];

	if (!who && team && decision && !strcmp(decision, "team")) {
		snprintf(buf, sizeof buf, "team %s", team_name(team));
		who = buf;
	}
	tally_tickets++;
	tally(tally_decision, decisions, decision);
	tally(tally_outcome, outcomes, jb->outcome);
	cell(jb->id, TICKET_W);
	cell(or_dash(dq_get_str(jb->rec, "summary")), summary_width);
	cell(or_dash(decision), DECISION_W);
	cell(or_dash(who), WHO_W);
	cell(short_time(dq_get_str(dq_get(jb->rec, "slot"), "start"), when,
	    sizeof when), SLOT_W);
	if (jb->webhook && !jb->error) {
		snprintf(buf, sizeof buf, "%s, webhook %s", jb->outcome,
		    !commit && !strcmp(jb->webhook, "sent") ? "to send" :
		    jb->webhook);
		cell(buf, applied_width);
	} else {
		cell(jb->outcome, applied_width);
	}
	wrapped_cell(or_dash(dq_get_str(d, "reason")),
	    table_width - reason_width > 0 ? table_width - reason_width : 0,
	    reason_width);
}

/* "30 tickets: 21 assigned, 5 team, 4 skipped." and the like. */
static void
tally_line(const char *lead, const size_t *counts, const char *const *names)
{
	bool first = true;

	printf("%s", lead);
	for (size_t i = 0; names[i]; i++) {
		if (!counts[i])
			continue;
		printf("%s%zu %s", first ? " " : ", ", counts[i], names[i]);
		first = false;
	}
	printf("%s.\n", first ? " none" : "");
}

static void
table_footer(void)
{
	char lead[64];

	snprintf(lead, sizeof lead, "\n%zu ticket%s:", tally_tickets,
	    tally_tickets == 1 ? "" : "s");
	tally_line(lead, tally_decision, decisions);
	if (commit)
		tally_line("Written:", tally_outcome, outcomes);
	printf("Slot times are %s time%s.\n", table_zone,
	    dq_policy.tz ? "" : " (--tz ZONE for another zone)");
	if (!commit)
		printf("Dry run: nothing was written; add --commit to write "
		    "these changes.\n");
}

static const char *const csv_columns[] = {
	"ticket", "summary", "board", "company", "decision", "owner", "team",
	"slot_start", "slot_end", "reason", "outcome", "error",
};
#define NCOLUMNS (sizeof csv_columns / sizeof csv_columns[0])

/* A cell a spreadsheet would take for a formula (= + - @, or a tab or
 * carriage return before one) is made text with a leading quote. */
static void
csv_cell(const char *s, bool last)
{
	char *safe = NULL;

	if (!s)
		s = "";
	if (strchr("=+-@\t\r", *s) && *s)
		s = safe = dq_asprintf("'%s", s);
	csv_fwrite(stdout, s, strlen(s));
	putchar(last ? '\n' : ',');
	free(safe);
}

static void
csv_header(void)
{
	for (size_t i = 0; i < NCOLUMNS; i++)
		csv_cell(csv_columns[i], i + 1 == NCOLUMNS);
}

static void
csv_row(struct job *jb)
{
	json_object *d = dq_get(jb->rec, "dispatch"), *slot = dq_get(jb->rec, "slot");
	const char *v[NCOLUMNS] = {
		jb->id, dq_get_str(jb->rec, "summary"),
		dq_get_str(jb->rec, "board"), dq_get_str(jb->rec, "company"),
		dq_get_str(d, "outcome"), dq_get_str(d, "chosen"),
		dq_get_str(d, "team"), dq_get_str(slot, "start"),
		dq_get_str(slot, "end"), dq_get_str(d, "reason"), jb->outcome,
		jb->error,
	};

	for (size_t i = 0; i < NCOLUMNS; i++)
		csv_cell(v[i], i + 1 == NCOLUMNS);
}

static void
output(struct job *jb, struct dq_input *in)
{
	switch (format) {
	case FORMAT_NDJSON:
		dq_write_annotated(in, "applied", applied_json(jb, false));
		break;
	case FORMAT_TABLE:
		table_row(jb);
		break;
	case FORMAT_CSV:
		csv_row(jb);
		break;
	}
}

static void
free_job(struct job *jb)
{
	json_object_put(jb->rec);
	json_object_put(jb->patch);
	json_object_put(jb->entry);
	json_object_put(jb->changes);
	json_object_put(jb->payload);
	json_object_put(jb->intent);
	free(jb->delivery);
	free(jb->note);
	free(jb->error);
	free(jb->line);
	free(jb);
}

/* Committing: one ticket's chain of requests */

static void launch(void);

/* A dead run's ticket: what came of it is said (unless --quiet, when
 * it was finished), and, unless it failed and is left for the next run,
 * journaled as the outcome that ends the intent. The journal's lock is
 * held throughout. */
static void
done_unfinished(struct job *jb)
{
	const char *run = dq_get_str(jb->intent, "run");
	long pid = (long)json_object_get_int64(dq_get(jb->intent, "pid"));
	bool failure = !strcmp(jb->outcome, "failed");

	if (failure || !dq_policy.quiet)
		dq_warnx("ticket %s: finishing run %s (pid %ld), which died: "
		    "%s%s%s", jb->id, run ? run : "?", pid, jb->outcome,
		    jb->error ? ": " : "", jb->error ? jb->error : "");
	if (failure) {
		status = dq_exit_worse(status, jb->exit);
		return;
	}
	json_object_object_add(jb->rec, "applied", applied_json(jb, false));
	dq_journal_finish(journal, jb->intent, jb->rec);
	dq_journal_sync(journal);
	if (strcmp(jb->outcome, "conflict")) {
		char *who = dq_asprintf("run %s (pid %ld)", run ? run : "?", pid);

		json_object_object_add(finished, jb->id,
		    json_object_new_string(who));
		free(who);
		if (jb->entry)
			json_object_array_add(finished_entries,
			    json_object_get(jb->entry));
	}
}

static void
done(struct job *jb, const char *outcome)
{
	jb->outcome = outcome;
	if (jb->intent) {
		done_unfinished(jb);
	} else {
		report(jb);
		if (journal) {
			json_object_object_add(jb->rec, "applied",
			    applied_json(jb, false));
			dq_journal_append(journal, "outcome", jb->seq, true,
			    jb->rec);
		}
	}
	active--;
	launch();
}

static void
failed(struct job *jb, const struct dq_cw_reply *reply)
{
	fail(jb, reply->exit, "%s", reply->error ? reply->error : "failed");
	done(jb, "failed");
}

/* Whether field (NULL: the whole; where is "GET /service/tickets/5001",
 * or that and a row) of a ConnectWise reply is of the type dq relies on, or absent or null where
 * optional. A wrong shape fails the ticket, exit 65, naming the request and
 * field, as dq-fetch stops on one: it is never read as an empty value,
 * which could post a note twice or take an owned ticket for a free one. */
static bool
shaped(struct job *jb, const char *where, const char *field, json_object *v,
    enum json_type type, bool optional)
{
	const char *is = v ? dq_json_shape(v) : "missing";

	if ((optional && !v) || json_object_is_type(v, type))
		return true;
	if (field)
		fail(jb, DQ_EXIT_DATA, "%s: \"%s\" is %s, expected %s", where,
		    field, is, dq_json_type_shape(type));
	else
		fail(jb, DQ_EXIT_DATA, "%s: is %s, expected %s", where, is,
		    dq_json_type_shape(type));
	done(jb, "failed");
	return false;
}

/* A reference {id, name, identifier} of a ticket reply: an object if
 * present, with key of type. */
static bool
shaped_ref(struct job *jb, const char *where, json_object *t, const char *ref,
    const char *key, enum json_type type)
{
	json_object *o = dq_get(t, ref);
	char field[64];

	snprintf(field, sizeof field, "%s/%s", ref, key);
	return shaped(jb, where, ref, o, json_type_object, true) &&
	    (!o || shaped(jb, where, field, dq_get(o, key), type, false));
}

static void step_note(struct job *jb);
static void step_entry(struct job *jb);

static void
got_notes(const struct dq_cw_reply *reply, void *arg)
{
	struct job *jb = arg;

	if (reply->exit != DQ_EXIT_OK) {
		failed(jb, reply);
		return;
	}
	for (size_t i = 0; i < json_object_array_length(reply->body); i++) {
		json_object *row = json_object_array_get_idx(reply->body, i);
		char *where = dq_asprintf("GET /service/tickets/%ld/notes: row %zu",
		    jb->psa_id, i + 1);
		bool ok = shaped(jb, where, NULL, row, json_type_object, false) &&
		    shaped(jb, where, "text", dq_get(row, "text"),
		    json_type_string, true);

		free(where);
		if (!ok)
			return;
		if (same(dq_get_str(row, "text"), jb->note, false)) {
			done(jb, jb->wrote ? "applied" : "unchanged");
			return;
		}
	}
	jb->look_note = false;
	step_note(jb);
}

static void
posted_note(const struct dq_cw_reply *reply, void *arg)
{
	struct job *jb = arg;

	if (reply->exit == DQ_EXIT_OK) {
		jb->wrote = true;
		done(jb, "applied");
	} else if (reply->exit == DQ_EXIT_TEMPFAIL && jb->posts < POST_ATTEMPTS) {
		jb->look_note = true;
		step_note(jb);
	} else {
		failed(jb, reply);
	}
}

static void
step_note(struct job *jb)
{
	char *path;
	json_object *body;

	if (!jb->note) {
		done(jb, jb->wrote ? "applied" : "unchanged");
		return;
	}
	path = ticket_path(jb->psa_id, "/notes");
	if (jb->look_note) {
		dq_cw_list(cw, path + 1, NULL, "id,text", got_notes, jb);
	} else {
		body = note_body(jb->note);
		jb->posts++;
		json_object_array_add(jb->changes, dq_apply_change("POST", path, body));
		dq_cw_send(cw, "POST", path + 1, body, posted_note, jb);
		json_object_put(body);
	}
	free(path);
}

static void
got_entries(const struct dq_cw_reply *reply, void *arg)
{
	struct job *jb = arg;

	if (reply->exit != DQ_EXIT_OK) {
		failed(jb, reply);
		return;
	}
	jb->look_entry = false;
	if (json_object_array_length(reply->body) > 0) {
		json_object *row = json_object_array_get_idx(reply->body, 0);

		if (!shaped(jb, "GET /schedule/entries: row 1", NULL, row,
		    json_type_object, false) ||
		    !shaped(jb, "GET /schedule/entries: row 1", "id",
		    dq_get(row, "id"), json_type_int, false))
			return;
		jb->entry_id = (long)json_object_get_int64(dq_get(row, "id"));
		jb->posts = 0;
		step_note(jb);
	} else {
		step_entry(jb);
	}
}

static void
posted_entry(const struct dq_cw_reply *reply, void *arg)
{
	struct job *jb = arg;

	if (reply->exit == DQ_EXIT_OK) {
		jb->wrote = true;
		if (!shaped(jb, "POST /schedule/entries", "id",
		    dq_get(reply->body, "id"), json_type_int, false))
			return;
		jb->entry_id = (long)json_object_get_int64(dq_get(reply->body,
		    "id"));
		jb->posts = 0;
		step_note(jb);
	} else if (reply->exit == DQ_EXIT_TEMPFAIL && jb->posts < POST_ATTEMPTS) {
		jb->look_entry = true;
		step_entry(jb);
	} else {
		failed(jb, reply);
	}
}

/* Before a calendar entry is created where one may exist already (the
 * ticket was found in its intended state, or a POST failed on the way),
 * ConnectWise is asked for one of the same ticket, member and start. */
static void
step_entry(struct job *jb)
{
	char *member, *conditions;

	if (!jb->entry) {
		step_note(jb);
		return;
	}
	if (jb->look_entry) {
		member = dq_cw_quote(dq_get_str(dq_get(jb->rec, "slot"), "member"));
		conditions = dq_asprintf("type/identifier=\"S\" and objectId=%ld "
		    "and member/identifier=%s and dateStart=[%s]", jb->psa_id,
		    member, dq_get_str(jb->entry, "dateStart"));
		dq_cw_list(cw, "schedule/entries", conditions, "id", got_entries, jb);
		free(conditions);
		free(member);
		return;
	}
	jb->posts++;
	json_object_array_add(jb->changes, dq_apply_change("POST", "/schedule/entries",
	    jb->entry));
	dq_cw_send(cw, "POST", "schedule/entries", jb->entry, posted_entry, jb);
}

static void
unbooked(const struct dq_cw_reply *reply, void *arg)
{
	struct job *jb = arg;

	/* Not found: a run before this one deleted it already. */
	if (reply->exit != DQ_EXIT_OK && reply->status != 404) {
		failed(jb, reply);
		return;
	}
	if (reply->exit == DQ_EXIT_OK)
		jb->wrote = true;
	step_entry(jb);
}

/* The previous owner's entry goes before the new one is made. */
static void
step_unbook(struct job *jb)
{
	char *path;

	if (!jb->old_entry) {
		step_entry(jb);
		return;
	}
	path = dq_asprintf("/schedule/entries/%ld", jb->old_entry);
	json_object_array_add(jb->changes, dq_apply_change("DELETE", path, NULL));
	dq_cw_send(cw, "DELETE", path + 1, NULL, unbooked, jb);
	free(path);
}

static void
patched(const struct dq_cw_reply *reply, void *arg)
{
	struct job *jb = arg;

	if (reply->exit != DQ_EXIT_OK) {
		failed(jb, reply);
		return;
	}
	jb->wrote = true;
	step_unbook(jb);
}

static const char *
none(const char *s)
{
	return s ? s : "none";
}

static void
conflict(struct job *jb, const struct state *now)
{
	struct dq_buf b = { 0 };
	static const char *const names[] = { "owner", "team", "status", "board" };
	const char *was[] = { now->owner, now->team, now->status, now->board };
	const char *exp[] = { jb->expect.owner, jb->expect.team,
	    jb->expect.status, jb->expect.board };

	for (int i = 0; i < 4; i++)
		if (!same(was[i], exp[i], i == 0))
			dq_buf_printf(&b, "%s%s is %s in ConnectWise, not %s",
			    b.len ? "; " : "", names[i], none(was[i]), none(exp[i]));
	jb->error = dq_buf_take(&b);
	done(jb, "conflict");
}

/* The ticket as ConnectWise has it now decides: already as intended
 * (a re-run after a crash, or another run with the same decision), as
 * the record had it (write), or changed by someone else (a conflict). */
static void
got_ticket(const struct dq_cw_reply *reply, void *arg)
{
	struct job *jb = arg;
	json_object *t = reply->body, *team = dq_get(dq_get(t, "team"), "id");
	struct state now, decided;
	char *path, *where;
	bool ok;

	if (reply->exit != DQ_EXIT_OK) {
		failed(jb, reply);
		return;
	}
	where = dq_asprintf("GET /service/tickets/%ld", jb->psa_id);
	ok = shaped(jb, where, NULL, t, json_type_object, false) &&
	    shaped_ref(jb, where, t, "owner", "identifier", json_type_string) &&
	    shaped_ref(jb, where, t, "team", "id", json_type_int) &&
	    shaped_ref(jb, where, t, "status", "name", json_type_string) &&
	    shaped_ref(jb, where, t, "status", "id", json_type_int) &&
	    shaped_ref(jb, where, t, "board", "name", json_type_string);
	free(where);
	if (!ok)
		return;
	if (json_object_is_type(team, json_type_int))
		snprintf(jb->psa_team, sizeof jb->psa_team, "%lld",
		    (long long)json_object_get_int64(team));
	now = (struct state){ dq_get_str(dq_get(t, "owner"), "identifier"),
	    json_object_is_type(team, json_type_int) ? jb->psa_team : NULL,
	    dq_get_str(dq_get(t, "status"), "name"),
	    dq_get_str(dq_get(t, "board"), "name") };
	/* The status a PATCH sets is known by its id (a dead run's intent
	 * has no other name for it). */
	decided = jb->want;
	if (jb->status_id && json_object_get_int64(dq_get(dq_get(t, "status"),
	    "id")) == jb->status_id)
		decided.status = now.status;
	if (same_state(&now, &decided)) {
		jb->look_entry = jb->look_note = true;
		step_unbook(jb);
	} else if (!same_state(&now, &jb->expect)) {
		conflict(jb, &now);
	} else {
		path = ticket_path(jb->psa_id, "");
		json_object_array_add(jb->changes, dq_apply_change("PATCH", path, jb->patch));
		dq_cw_send(cw, "PATCH", path + 1, jb->patch, patched, jb);
		free(path);
	}
}

/* The entry, made by finishing a dead run's ticket, that the slot of
 * jb's entry would overlap (with jb's buffer), or NULL. The stream was
 * decided without it: the dead run had not made it yet. */
static json_object *
overbooks(struct job *jb)
{
	json_object *slot = dq_get(jb->rec, "slot");
	long buffer = (long)json_object_get_int64(dq_get(slot,
	    "buffer_minutes")) * 60;
	time_t s, e, os, oe;

	if (!jb->entry || !dq_time_parse(dq_get_str(jb->entry, "dateStart"),
	    &s) || !dq_time_parse(dq_get_str(jb->entry, "dateEnd"), &e))
		return NULL;
	for (size_t i = 0; i < json_object_array_length(finished_entries); i++) {
		json_object *o = json_object_array_get_idx(finished_entries, i);

		if (json_object_equal(dq_get(o, "member"),
		    dq_get(jb->entry, "member")) &&
		    dq_time_parse(dq_get_str(o, "dateStart"), &os) &&
		    dq_time_parse(dq_get_str(o, "dateEnd"), &oe) &&
		    s < oe + buffer && os < e + buffer)
			return o;
	}
	return NULL;
}

/* The intent goes in first, unless another live run holds one; then
 * the ticket is read again. A ticket whose slot a dead run's finished
 * work took is not written at all: the next run decides it again, from
 * a calendar that shows that work. */
static void
start(struct job *jb)
{
	char *run = NULL, *path, ticket[24];
	struct dq_holding h;
	json_object *taken;
	long pid;

	if (journal && dq_get(finished, jb->id)) {
		jb->error = dq_asprintf("%s died with it unfinished, and this "
		    "run finished it first", dq_get_str(finished, jb->id));
		done(jb, "conflict");
		return;
	}
	if (journal && !jb->intent && (taken = overbooks(jb))) {
		snprintf(ticket, sizeof ticket, "%lld", (long long)
		    json_object_get_int64(dq_get(taken, "objectId")));
		jb->error = dq_asprintf("the slot of %s from %s is taken by "
		    "ticket %s, which this run finished for %s; the next run "
		    "decides it again", dq_get_str(dq_get(jb->rec, "slot"),
		    "member"), dq_get_str(jb->entry, "dateStart"), ticket,
		    dq_get_str(finished, ticket));
		done(jb, "conflict");
		return;
	}
	if (journal && !jb->intent) {
		dq_journal_lock(journal);
		if (dq_journal_busy(journal, jb->id, &run, &pid)) {
			dq_journal_unlock(journal);
			jb->error = dq_asprintf("run %s (pid %ld) is writing it",
			    run, pid);
			free(run);
			done(jb, "conflict");
			return;
		}
		dq_journal_holding(journal, jb->id, &h);
		jb->old_entry = old_entry(jb, &h);
		json_object_object_add(jb->rec, "applied", applied_json(jb, true));
		dq_journal_add(journal, "intent", jb->seq, true, jb->rec);
		dq_journal_unlock(journal);
	}
	path = ticket_path(jb->psa_id, "");
	dq_cw_get(cw, path + 1, got_ticket, jb);
	free(path);
}

/* Webhooks */

static void
posted_webhook(const struct dq_cw_reply *reply, void *arg)
{
	struct job *jb = arg;

	if (reply->exit != DQ_EXIT_OK) {
		jb->webhook = NULL;
		failed(jb, reply);
		return;
	}
	jb->wrote = true;
	done(jb, "applied");
}

/* A run that died after its intent may have delivered: resend its very
 * delivery, which the agent can tell it has seen. */
static void
resume_delivery(struct job *jb)
{
	json_object *intent = dq_journal_last_intent(journal, jb->id);
	json_object *old = dq_get(dq_get(dq_get(intent, "record"), "applied"),
	    "delivery");

	if (!old || !dq_get_str(old, "id") || !dq_get(old, "body") ||
	    !same(dq_get_str(old, "url"), jb->url, false) ||
	    !same(dq_get_str(dq_get(old, "body"), "member"), jb->want.owner,
	    false))
		return;
	free(jb->delivery);
	jb->delivery = xstrdup(dq_get_str(old, "id"));
	json_object_put(jb->payload);
	jb->payload = json_object_get(dq_get(old, "body"));
}

/* For agents the journal is the record of who has what: under its lock,
 * a ticket already given to the chosen agent is unchanged, one given to
 * somebody else than expected is a conflict, the rest are journaled and
 * told. */
static void
start_webhook(struct job *jb)
{
	struct dq_holding h;
	const char *now;
	char *busy = NULL;
	long pid;

	dq_journal_lock(journal);
	if (dq_journal_busy(journal, jb->id, &busy, &pid)) {
		dq_journal_unlock(journal);
		jb->error = dq_asprintf("run %s (pid %ld) is writing it", busy,
		    pid);
		free(busy);
		done(jb, "conflict");
		return;
	}
	dq_journal_holding(journal, jb->id, &h);
	now = h.member;
	if (now && same(now, jb->want.owner, false)) {
		dq_journal_unlock(journal);
		jb->webhook = h.webhook;
		done(jb, "unchanged");
		return;
	}
	if (!same(now, jb->expect.owner, false)) {
		jb->error = dq_asprintf("the journal has it with %s, not %s",
		    none(now), none(jb->expect.owner));
		dq_journal_unlock(journal);
		done(jb, "conflict");
		return;
	}
	resume_delivery(jb);
	json_object_object_add(jb->rec, "applied", applied_json(jb, true));
	dq_journal_add(journal, "intent", jb->seq, true, jb->rec);
	dq_journal_unlock(journal);
	if (strcmp(jb->webhook, "sent")) {
		done(jb, "applied");	/* held: nothing goes out yet */
		return;
	}
	json_object_array_add(jb->changes, dq_apply_change("POST", jb->url, jb->payload));
	dq_webhook_post(cw, jb->url, dq_json_string(jb->payload), jb->delivery,
	    posted_webhook, jb);
}

static bool
needs_target(const struct job *jb)
{
	return jb->writes && (to_psa || to_webhook) && !jb->error;
}

/* Starts tickets while fewer than --parallel are under way. A ticket
 * that ends at once ends inside start; the loop, not recursion, goes on. */
static void
launch(void)
{
	if (launching)
		return;
	launching = true;
	while (active < dq_policy.parallel && next_job < nqueue) {
		struct job *jb = queue[next_job++];

		if (needs_target(jb)) {
			active++;
			if (to_webhook)
				start_webhook(jb);
			else
				start(jb);
		}
	}
	launching = false;
}

/* The intent of a dead run as a job: its record and the changes it
 * planned are all there is to go on, so the work is finished the same
 * whatever this run's stream holds. NULL for an intent that planned no
 * changes (not dq-apply's), which is said and left. */
static struct job *
unfinished_job(json_object *intent)
{
	json_object *rec = dq_get(intent, "record"), *ops;
	json_object *planned = dq_get(dq_get(rec, "applied"), "changes");
	json_object *d = dq_get(rec, "dispatch");
	const char *decision = dq_get_str(d, "outcome");
	struct job *jb;

	if (!json_object_is_type(planned, json_type_array) ||
	    psa_number(rec, "id") <= 0 || !dq_get_str(rec, "id")) {
		dq_warnx("ticket %s: run %s (pid %ld) died with it unfinished, "
		    "and its intent holds no planned changes: left as it is",
		    dq_get_str(rec, "id") ? dq_get_str(rec, "id") : "?",
		    dq_get_str(intent, "run") ? dq_get_str(intent, "run") : "?",
		    (long)json_object_get_int64(dq_get(intent, "pid")));
		return NULL;
	}
	jb = xcalloc(1, sizeof *jb);
	json_object_deep_copy(rec, &jb->rec, NULL);
	json_object_object_del(jb->rec, "applied");
	jb->intent = json_object_get(intent);
	jb->id = dq_get_str(jb->rec, "id");
	jb->seq = (long)json_object_get_int64(dq_get(intent, "seq"));
	jb->psa_id = psa_number(jb->rec, "id");
	jb->writes = true;
	jb->decides = decision && (!strcmp(decision, "assigned") ||
	    !strcmp(decision, "team"));
	jb->changes = json_object_new_array();
	expectation(jb);
	if (decision && !strcmp(decision, "assigned"))
		jb->want.owner = dq_get_str(d, "chosen");
	if (decision && (!strcmp(decision, "assigned") ||
	    !strcmp(decision, "team")) && dq_get_str(d, "team"))
		jb->want.team = dq_get_str(d, "team");
	for (size_t i = 0; i < json_object_array_length(planned); i++) {
		json_object *c = json_object_array_get_idx(planned, i);
		const char *method = dq_get_str(c, "method");
		const char *path = dq_get_str(c, "path");
		json_object *body = dq_get(c, "body");

		if (method && path && !strcmp(method, "DELETE") &&
		    !strncmp(path, "/schedule/entries/", 18)) {
			jb->old_entry = strtol(path + 18, NULL, 10);
			continue;
		}
		if (!method || !path || !body)
			continue;
		if (!strcmp(method, "PATCH")) {
			jb->patch = json_object_get(body);
		} else if (!strcmp(path, "/schedule/entries")) {
			jb->entry = json_object_get(body);
		} else if (strlen(path) > 6 &&
		    !strcmp(path + strlen(path) - 6, "/notes") &&
		    dq_get_str(body, "text")) {
			jb->note = xstrdup(dq_get_str(body, "text"));
		}
	}
	ops = jb->patch;
	for (size_t i = 0; json_object_is_type(ops, json_type_array) &&
	    i < json_object_array_length(ops); i++) {
		json_object *op = json_object_array_get_idx(ops, i);

		if (same(dq_get_str(op, "path"), "status", false)) {
			jb->want.status = NULL;
			jb->status_id = (long)json_object_get_int64(dq_get(
			    dq_get(op, "value"), "id"));
		}
	}
	return jb;
}

/* Runs jobs, at most --parallel at once, until all are done. */
static void
run_jobs(struct job **v, size_t n)
{
	queue = v;
	nqueue = n;
	next_job = 0;
	launch();
	if (cw)
		dq_cw_run(cw);
}

/* First, under the journal's lock, the tickets that dead runs left
 * unfinished: ConnectWise's, for a run that writes there. */
static void
finish_unfinished(void)
{
	json_object *dead = dq_journal_unfinished(journal);
	size_t len = json_object_array_length(dead), n = 0;
	struct job **v = xcalloc(len + 1, sizeof *v);

	for (size_t i = 0; i < len; i++) {
		json_object *intent = json_object_array_get_idx(dead, i);
		const char *target = dq_get_str(dq_get(dq_get(intent, "record"),
		    "applied"), "target");

		if (target && !strcmp(target, "connectwise") &&
		    (v[n] = unfinished_job(intent)))
			n++;
	}
	run_jobs(v, n);
	for (size_t i = 0; i < n; i++)
		free_job(v[i]);
	free(v);
	json_object_put(dead);
}

/* Without a journal there are no intents to keep two runs off one
 * ticket: such runs take turns instead, on a lock file of the user's,
 * $XDG_RUNTIME_DIR/dq-apply.lock, else $TMPDIR (or /tmp)/dq-apply-UID.lock.
 * It is held, once taken, until the process ends. */
static void
take_turn(void)
{
	const char *dir = getenv("XDG_RUNTIME_DIR");
	char *path;
	struct stat st;
	int fd;

	if (dir && *dir) {
		path = dq_asprintf("%s/dq-apply.lock", dir);
	} else {
		dir = getenv("TMPDIR");
		path = dq_asprintf("%s/dq-apply-%ld.lock", dir && *dir ? dir :
		    "/tmp", (long)getuid());
	}
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		dq_die(DQ_EXIT_IO, "%s: %s", path, strerror(errno));
	/* In a shared directory, a file of somebody else's could be held
	 * by them for ever. */
	if (fstat(fd, &st) != 0 || st.st_uid != getuid() ||
	    !S_ISREG(st.st_mode))
		dq_die(DQ_EXIT_IO, "%s: not a regular file of this user's",
		    path);
	while (flock(fd, LOCK_EX) != 0)
		if (errno != EINTR)
			dq_die(DQ_EXIT_IO, "%s: cannot lock: %s", path,
			    strerror(errno));
	free(path);
}

static bool
same_key(json_object *a, json_object *b, const char *object, const char *key)
{
	return same(dq_get_str(dq_get(a, object), key),
	    dq_get_str(dq_get(b, object), key), false);
}

/* Whether the journal's last outcome for the ticket already says what
 * this one would: a skip or a decision that changes nothing, with the
 * same outcome and reason. The journal grows with changes, not runs. */
static bool
repeats(struct job *jb)
{
	json_object *last = dq_journal_last_outcome(journal, jb->id);
	json_object *was = dq_get(last, "record");

	return last && !strcmp(jb->outcome, "unchanged") &&
	    same(dq_get_str(dq_get(was, "applied"), "outcome"), jb->outcome,
	    false) && same_key(was, jb->rec, "dispatch", "outcome") &&
	    same_key(was, jb->rec, "dispatch", "reason");
}

/* Tickets with nothing to write to the PSA are settled at once, their
 * outcomes journaled together; the rest go through their chains. */
static void
commit_all(void)
{
	if (dq_policy.journals.n)
		journal = dq_journal_open(
		    dq_policy.journals.v[dq_policy.journals.n - 1], run_id);
	else if (to_psa)
		take_turn();
	finished = json_object_new_object();
	finished_entries = json_object_new_array();
	if (journal) {
		dq_journal_lock(journal);
		if (to_psa)
			finish_unfinished();
		/* dq-watch's events, so that it reports each once and a
		 * cleared ticket counts as dispatched no more. */
		for (size_t i = 0; i < json_object_array_length(events); i++)
			dq_journal_add(journal, "event", 0, true,
			    json_object_array_get_idx(events, i));
	}
	for (size_t i = 0; i < njobs; i++) {
		struct job *jb = jobs[i];

		if (needs_target(jb))
			continue;
		jb->outcome = jb->error ? "failed" : jb->writes ? "applied" :
		    "unchanged";
		report(jb);
		if (journal && !repeats(jb)) {
			json_object_object_add(jb->rec, "applied",
			    applied_json(jb, false));
			dq_journal_add(journal, "outcome", jb->seq, true, jb->rec);
		}
	}
	if (journal)
		dq_journal_unlock(journal);
	run_jobs(jobs, njobs);
	json_object_put(finished);
	json_object_put(finished_entries);
}

/* The stream */

static void
keep(char *line, struct job *jb)
{
	items = xrealloc(items, (nitems + 1) * sizeof *items);
	items[nitems++] = (struct item){ line, jb };
}

/* A stream without a run record acts as run "dq-<now>". */
static void
default_run_id(void)
{
	char now[DQ_TIMEBUF], id[DQ_TIMEBUF];
	size_t n = 0;

	if (run_id)
		return;
	dq_time_format(dq_now(), now);
	for (const char *p = now; *p; p++)
		if (*p != '-' && *p != ':')
			id[n++] = *p;
	id[n] = '\0';
	run_id = dq_asprintf("dq-%s", id);
}

/* A later record of a ticket replaces an earlier one (dq-records(5)):
 * a commit drops the earlier, with a warning, so that a ticket has one
 * decision and one write. A dry run, which shows each record as it
 * comes, has shown the earlier already, and warns. */
static void
replace_earlier(const char *id)
{
	json_object *was = dq_get(seen, id);
	size_t at, line;
	struct job *old;

	if (!was)
		return;
	at = (size_t)json_object_get_int64(json_object_array_get_idx(was, 0));
	line = (size_t)json_object_get_int64(json_object_array_get_idx(was, 1));
	dq_warn_again(id, line);
	if (!commit)
		return;
	old = items[at].job;
	items[at].job = NULL;
	for (size_t i = 0; i < njobs; i++)
		if (jobs[i] == old) {
			memmove(jobs + i, jobs + i + 1, (njobs - i - 1) *
			    sizeof *jobs);
			njobs--;
			break;
		}
	free_job(old);
}

static void
ticket(struct dq_input *in)
{
	static long seq;
	const char *id = dq_need_str(in->rec, "ticket", "id");
	json_object *where = json_object_new_array();
	struct job *jb;

	default_run_id();
	replace_earlier(id);
	jb = xcalloc(1, sizeof *jb);
	jb->rec = json_object_get(in->rec);
	jb->id = id;
	jb->seq = ++seq;
	plan(jb);
	json_object_array_add(where, json_object_new_int64((int64_t)nitems));
	json_object_array_add(where, json_object_new_int64((int64_t)in->lineno));
	json_object_object_add(seen, id, where);
	if (commit) {
		jb->line = xstrdup(in->line);
		jb->len = in->len;
		jb->compact = in->compact;
		jobs = xrealloc(jobs, (njobs + 1) * sizeof *jobs);
		jobs[njobs++] = jb;
		keep(NULL, jb);
		return;
	}
	jb->outcome = "dry-run";
	report(jb);
	output(jb, in);
	free_job(jb);
}

static void
record(struct dq_input *in, void *arg)
{
	if (!strcmp(in->kind, "ticket")) {
		ticket(in);
		return;
	}
	if (!strcmp(in->kind, "run")) {
		dq_clock_observe(in->rec);
		if (dq_get_str(in->rec, "id")) {
			free(run_id);
			run_id = xstrdup(dq_get_str(in->rec, "id"));
		}
	} else if (!strcmp(in->kind, "event")) {
		json_object_array_add(events, json_object_get(in->rec));
	} else {
		dq_context_add(ctx, in->kind, in->rec);
	}
	if (format != FORMAT_NDJSON)
		return;
	if (commit)
		keep(xstrdup(in->compact ? in->line : dq_json_string(in->rec)),
		    NULL);
	else
		dq_write_input(in);
}

static void
flush_kept(void)
{
	for (size_t i = 0; i < nitems; i++) {
		struct job *jb = items[i].job;
		struct dq_input in;

		if (!jb) {
			if (items[i].line)
				puts(items[i].line);
			free(items[i].line);
			continue;
		}
		in = (struct dq_input){ .rec = jb->rec, .kind = "ticket",
		    .line = jb->line, .len = jb->len, .compact = jb->compact };
		/* Without the applied of the journal, the line is spliced. */
		json_object_object_del(jb->rec, "applied");
		output(jb, &in);
		free_job(jb);
	}
	free(items);
	free(jobs);
}

static void
settle_options(void)
{
	const char *f = dq_policy.format;

	to_psa = !dq_policy.target || !strcmp(dq_policy.target, "connectwise");
	to_webhook = dq_policy.target && !strcmp(dq_policy.target, "webhook");
	format = !f ? (isatty(STDOUT_FILENO) ? FORMAT_TABLE : FORMAT_NDJSON) :
	    !strcmp(f, "table") ? FORMAT_TABLE : !strcmp(f, "csv") ?
	    FORMAT_CSV : FORMAT_NDJSON;
	commit = dq_policy.commit;
	/* The master toggle: off, nothing is written, even with --commit. */
	if (commit && !dq_policy.auto_dispatch) {
		if (!dq_policy.quiet)
			dq_warnx("auto-dispatch is off: a dry run, nothing is "
			    "written");
		commit = false;
	}
}

int
main(int argc, char *argv[])
{
	int first = dq_policy_load(argc, argv, DQ_APPLY, "[options] [file ...]\n"
	    "       dq-apply --approve|--reject|--start|--ack [options] TICKET ...\n"
	    "       dq-apply --pending [options]",
	    "Shows what the decisions of a stream would change (a dry run), "
	    "or with --commit\nwrites them to the PSA or the agents' webhooks "
	    "and journals every outcome.");

	if (dq_policy.approve || dq_policy.reject || dq_policy.start ||
	    dq_policy.ack)
		return dq_close_stdout(dq_apply_agent(argc - first, argv + first));
	if (dq_policy.pending) {
		if (argc > first)
			dq_usage("--pending takes no operands");
		return dq_close_stdout(dq_apply_pending());
	}
	settle_options();
	/* For agents the journal is where assignments live. */
	if (commit && to_webhook && !dq_policy.journals.n)
		dq_usage("--target webhook --commit needs --journal");
	if (commit && to_psa)
		cw = dq_cw_open();
	else if (commit && to_webhook)
		cw = dq_http_open();
	events = json_object_new_array();
	seen = json_object_new_object();
	if (dq_policy.journals.n)
		holdings = dq_holdings_read(&dq_policy.journals);
	ctx = dq_context_new();
	if (format == FORMAT_TABLE)
		table_header();
	else if (format == FORMAT_CSV)
		csv_header();
	dq_stream_files(argc - first, argv + first, record, NULL);
	if (commit) {
		default_run_id();
		commit_all();
		flush_kept();
	}
	if (format == FORMAT_TABLE)
		table_footer();
	if (journal)
		dq_journal_close(journal);
	if (cw)
		dq_cw_close(cw);
	dq_context_free(ctx);
	dq_holdings_free(holdings);
	json_object_put(events);
	json_object_put(seen);
	free(run_id);
	return dq_close_stdout(status);
}
