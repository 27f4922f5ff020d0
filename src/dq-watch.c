/* dq-watch: the watchdogs. Reads the journal for what dq assigned and the
 * stream for where each ticket stands now, and reports work that stalled,
 * was never acknowledged or sat in the queue, and agents gone idle; it can
 * clear an assignment so that the rest of the pipeline dispatches the
 * ticket again. It writes nothing but the stream: dq-apply journals the
 * events it passes, so a dry run leaves no trace. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include <json-c/linkhash.h>

#include "dq.h"

/* Which assignment (its holding's serial, plus one) each watchdog has
 * already reported a ticket's for: events are told once. */
struct told {
	unsigned long stall, noack, queue;
};

static struct dq_holdings *holdings;	/* who holds what, by the journal */
static struct lh_table *reported;	/* ticket -> struct told */
static struct lh_table *idle_told;	/* member -> last_seen_at reported */
static struct lh_table *last_ack;	/* member -> time_t of their last ack */
static struct lh_table *entry_acks;	/* "ticket\037member" -> bool */

static void
free_key_value(struct lh_entry *e)
{
	free(lh_entry_k(e));
	free(lh_entry_v(e));
}

static void *
lookup(struct lh_table *t, const char *key)
{
	struct lh_entry *e = lh_table_lookup_entry(t, key);

	return e ? lh_entry_v(e) : NULL;
}

static void
set(struct lh_table *t, const char *key, void *value)
{
	lh_table_delete(t, key);
	lh_table_insert(t, xstrdup(key), value);
}

static struct told *
told_of(const char *ticket)
{
	struct told *t = lookup(reported, ticket);

	if (!t) {
		t = xcalloc(1, sizeof *t);
		set(reported, ticket, t);
	}
	return t;
}

static void
read_event(const struct dq_journal_line *jl)
{
	const char *type = dq_get_str(jl->record, "type");
	const char *member = dq_get_str(jl->record, "member");
	struct dq_holding h;
	struct told *t;

	if (!type)
		return;
	if (!strcmp(type, "AGENT_IDLE") && member &&
	    dq_get_str(jl->record, "last_seen_at")) {
		set(idle_told, member,
		    xstrdup(dq_get_str(jl->record, "last_seen_at")));
		return;
	}
	if (!jl->ticket)
		return;
	dq_holding(holdings, jl->ticket, &h);
	t = told_of(jl->ticket);
	if (!strcmp(type, "ISSUE_NOACK"))
		t->noack = h.serial + 1;
	else if (!strcmp(type, "ISSUE_STALLED") && member)
		t->stall = h.serial + 1;
	else if (!strcmp(type, "ISSUE_STALLED"))
		t->queue = h.serial + 1;
}

static void
read_ack(const struct dq_journal_line *jl)
{
	const char *member = dq_get_str(jl->record, "member");
	time_t *t;

	if (member && (!(t = lookup(last_ack, member)) || *t < jl->at)) {
		t = xcalloc(1, sizeof *t);
		*t = jl->at;
		set(last_ack, member, t);
	}
}

static void
read_line(const struct dq_journal_line *jl, void *arg)
{
	(void)arg;
	if (!jl->has_at)
		return;
	dq_holdings_add(holdings, jl);
	if (!strcmp(jl->phase, "event"))
		read_event(jl);
	else if (!strcmp(jl->phase, "ack"))
		read_ack(jl);
}

/* Events */

static json_object *
event(const char *type, const char *ticket, const char *member,
    const char *reason, time_t since)
{
	json_object *e = json_object_new_object();
	char buf[DQ_TIMEBUF];

	json_object_object_add(e, "kind", json_object_new_string("event"));
	json_object_object_add(e, "type", json_object_new_string(type));
	json_object_object_add(e, "ticket",
	    ticket ? json_object_new_string(ticket) : NULL);
	json_object_object_add(e, "member",
	    member ? json_object_new_string(member) : NULL);
	json_object_object_add(e, "at",
	    json_object_new_string(dq_time_format(dq_now(), buf)));
	json_object_object_add(e, "reason", json_object_new_string(reason));
	json_object_object_add(e, "since",
	    json_object_new_string(dq_time_format(since, buf)));
	json_object_object_add(e, "minutes",
	    json_object_new_int64((int64_t)(dq_now() - since) / 60));
	return e;
}

static void
emit(json_object *e)
{
	dq_write(e);
	json_object_put(e);
}

/* Members */

static void
member(struct dq_input *in)
{
	const char *id = dq_get_str(in->rec, "id");
	const char *seen = dq_get_str(in->rec, "last_seen_at");
	const char *told;
	time_t last, *acked;

	/* Only agents report being seen (null: never); people, without
	 * last_seen_at, are left alone. */
	if (!dq_policy.idle_minutes || !id ||
	    !json_object_object_get_ex(in->rec, "last_seen_at", NULL) ||
	    dq_get_bool(in->rec, "archived", false)) {
		dq_write_input(in);
		return;
	}
	if (seen && !dq_time_parse(seen, &last))
		dq_die_data("member %s: \"last_seen_at\" is not an RFC 3339 time",
		    id);
	if (!seen)
		last = 0;	/* never seen */
	if ((acked = lookup(last_ack, id)) && *acked > last)
		last = *acked;
	if (dq_now() - last < dq_policy.idle_minutes * 60 ||
	    (dq_get_str(in->rec, "status") &&
	    !strcmp(dq_get_str(in->rec, "status"), "OFFLINE"))) {
		dq_write_input(in);
		return;
	}
	told = lookup(idle_told, id);
	if (!told || strcmp(told, seen ? seen : "")) {
		json_object *e = event("AGENT_IDLE", NULL, id, "idle", last);

		json_object_object_add(e, "last_seen_at",
		    json_object_new_string(seen ? seen : ""));
		emit(e);
	}
	dq_write_annotated(in, "status", json_object_new_string("OFFLINE"));
}

/* Tickets */

/* Whether the ticket moved since dq assigned it: another status than
 * the one dq left, or an update after dq's own writes. */
static bool
progressed(json_object *ticket, const struct dq_holding *h)
{
	const char *status = dq_get_str(ticket, "status");
	const char *updated = dq_get_str(ticket, "updated_at");
	time_t t;

	if (status && h->status && strcmp(status, h->status))
		return true;
	return updated && dq_time_parse(updated, &t) && t > h->done;
}

/* Whether the member acknowledged: an ack line (agents), or, for work
 * booked in the PSA's calendar, the acknowledged flag of its entry. */
static bool
acknowledged(const char *ticket, const struct dq_holding *h)
{
	char key[512];
	bool *flag;

	if (h->acked)
		return true;
	snprintf(key, sizeof key, "%s\037%s", ticket, h->member);
	return (flag = lookup(entry_acks, key)) && *flag;
}

static void
clear(struct dq_input *in, const char *type, const char *owner)
{
	json_object *w = json_object_new_object();

	json_object_object_add(w, "event", json_object_new_string(type));
	json_object_object_add(w, "previous_owner", json_object_new_string(owner));
	json_object_object_add(w, "clear", json_object_new_boolean(true));
	dq_write_annotated(in, "watch", w);
}

/* dq's assignment of the ticket still stands (or, cleared, waits for a
 * new owner): has it started? Work booked for later is not stale before
 * its slot begins. */
static void
watch_assigned(struct dq_input *in, const char *id, const struct dq_holding *h)
{
	time_t now = dq_now(), from = h->slot > h->pushed ? h->slot : h->pushed;
	const char *cleared_by = NULL;
	struct told *t = told_of(id);
	json_object *e;

	if (!h->pushed || progressed(in->rec, h)) {
		dq_write_input(in);
		return;
	}
	if (dq_policy.ack_seconds && !acknowledged(id, h) &&
	    now - h->pushed >= dq_policy.ack_seconds) {
		if (dq_policy.redispatch_on_noack)
			cleared_by = "ISSUE_NOACK";
		if (t->noack != h->serial + 1) {
			e = event("ISSUE_NOACK", id, h->member, "no-ack", h->pushed);
			json_object_object_add(e, "seconds",
			    json_object_new_int64((int64_t)(now - h->pushed)));
			if (cleared_by)
				json_object_object_add(e, "clear",
				    json_object_new_boolean(true));
			emit(e);
		}
	}
	if (dq_policy.stall_minutes && now - from >= dq_policy.stall_minutes * 60) {
		bool clears = !cleared_by && dq_policy.redispatch_on_stall;

		if (clears)
			cleared_by = "ISSUE_STALLED";
		if (t->stall != h->serial + 1) {
			e = event("ISSUE_STALLED", id, h->member, "no-progress",
			    from);
			if (clears)
				json_object_object_add(e, "clear",
				    json_object_new_boolean(true));
			emit(e);
		}
	}
	if (cleared_by)
		clear(in, cleared_by, h->member);
	else
		dq_write_input(in);
}

/* Whether the trigger filters (when given) count the ticket as queued. */
static bool
queued(json_object *ticket)
{
	const char *board = dq_get_str(ticket, "board");
	const char *status = dq_get_str(ticket, "status");

	return !(dq_policy.boards.n && !(board &&
	    dq_strlist_has_icase(&dq_policy.boards, board))) &&
	    !(dq_policy.trigger_statuses.n && !(status &&
	    dq_strlist_has_icase(&dq_policy.trigger_statuses, status)));
}

static void
ticket(struct dq_input *in)
{
	const char *id = dq_need_str(in->rec, "ticket", "id");
	const char *owner = dq_get_str(in->rec, "owner");
	const char *entered = dq_get_str(in->rec, "entered_at");
	struct dq_holding h;
	struct told *t;
	time_t since;

	dq_holding(holdings, id, &h);
	/* For agents the journal holds the assignment and the ticket no
	 * owner; a different owner means a human took the ticket over. */
	if (h.member && (!owner || !strcmp(owner, h.member))) {
		watch_assigned(in, id, &h);
		return;
	}
	if (!owner && !h.member && dq_policy.queue_stall_minutes &&
	    entered && queued(in->rec)) {
		if (!dq_time_parse(entered, &since))
			dq_die_data("ticket %s: \"entered_at\" is not an RFC 3339 "
			    "time", id);
		t = told_of(id);
		if (dq_now() - since >= dq_policy.queue_stall_minutes * 60 &&
		    t->queue != h.serial + 1)
			emit(event("ISSUE_STALLED", id, NULL, "queued", since));
	}
	dq_write_input(in);
}

static void
entry(json_object *rec)
{
	const char *ticket = dq_get_str(rec, "ticket");
	const char *member = dq_get_str(rec, "member");
	char key[512];
	bool *flag;

	if (!ticket || !member)
		return;
	snprintf(key, sizeof key, "%s\037%s", ticket, member);
	flag = xcalloc(1, sizeof *flag);
	*flag = dq_get_bool(rec, "acknowledged", false);
	set(entry_acks, key, flag);
}

static void
record(struct dq_input *in, void *arg)
{
	(void)arg;
	if (!strcmp(in->kind, "ticket")) {
		ticket(in);
		return;
	}
	if (!strcmp(in->kind, "member")) {
		member(in);
		return;
	}
	if (!strcmp(in->kind, "run"))
		dq_clock_observe(in->rec);
	else if (!strcmp(in->kind, "entry"))
		entry(in->rec);
	dq_write_input(in);
}

int
main(int argc, char *argv[])
{
	int first = dq_policy_load(argc, argv, DQ_WATCH, "[options] [file ...]",
	    "Reports stalled, unacknowledged and queued work and idle agents.");

	holdings = dq_holdings_new();
	reported = lh_kchar_table_new(256, free_key_value);
	idle_told = lh_kchar_table_new(16, free_key_value);
	last_ack = lh_kchar_table_new(16, free_key_value);
	entry_acks = lh_kchar_table_new(256, free_key_value);
	dq_journal_read(&dq_policy.journals, read_line, NULL);
	dq_stream_files(argc - first, argv + first, record, NULL);
	dq_holdings_free(holdings);
	lh_table_free(reported);
	lh_table_free(idle_told);
	lh_table_free(last_ack);
	lh_table_free(entry_acks);
	return dq_close_stdout(0);
}
