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

/* What the journal says of one ticket's latest assignment by dq. */
struct assignment {
	char *member;		/* NULL: no assignment of dq's stands */
	char *status;		/* the status dq left the ticket in */
	time_t at;		/* when the run that assigned it acted */
	time_t done;		/* when dq's own writes were over */
	bool pushed;		/* the member was told (always, but for held
				 * webhooks) */
	time_t pushed_at;
	bool acked;		/* an ack line for this assignment */
	bool stall_told, noack_told, queue_told;
};

static struct lh_table *assignments;	/* ticket -> struct assignment */
static struct lh_table *idle_told;	/* member -> last_seen_at reported */
static struct lh_table *last_ack;	/* member -> time_t of their last ack */
static struct lh_table *entry_acks;	/* "ticket\037member" -> bool */

static void
free_assignment(struct lh_entry *e)
{
	struct assignment *a = lh_entry_v(e);

	free(lh_entry_k(e));
	free(a->member);
	free(a->status);
	free(a);
}

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

static struct assignment *
assignment_of(const char *ticket)
{
	struct assignment *a = lookup(assignments, ticket);

	if (!a) {
		a = xcalloc(1, sizeof *a);
		set(assignments, ticket, a);
	}
	return a;
}

static void
end_assignment(struct assignment *a)
{
	free(a->member);
	free(a->status);
	a->member = a->status = NULL;
	a->pushed = a->acked = a->stall_told = a->noack_told = false;
	a->queue_told = false;
}

/* The status dq-apply set (a JSON-Patch replace of status among the
 * changes it sent), else the one the ticket had. */
static const char *
status_left(json_object *record)
{
	json_object *changes = dq_get(dq_get(record, "applied"), "changes");

	for (size_t i = 0; json_object_is_type(changes, json_type_array) &&
	    i < json_object_array_length(changes); i++) {
		json_object *body = dq_get(json_object_array_get_idx(changes, i),
		    "body");

		for (size_t k = 0; json_object_is_type(body, json_type_array) &&
		    k < json_object_array_length(body); k++) {
			json_object *op = json_object_array_get_idx(body, k);
			const char *path = dq_get_str(op, "path");

			if (path && (!strcmp(path, "status") ||
			    !strcmp(path, "/status")) &&
			    dq_get_str(dq_get(op, "value"), "name"))
				return dq_get_str(dq_get(op, "value"), "name");
		}
	}
	return dq_get_str(record, "status");
}

static void
note_push(struct assignment *a, const struct dq_journal_line *jl)
{
	const char *webhook = dq_get_str(dq_get(jl->record, "applied"),
	    "webhook");

	time_t wall;

	/* Without a webhook the PSA itself tells the technician. Updates
	 * before the member was told are not theirs. */
	if (!a->pushed && (!webhook || !strcmp(webhook, "sent"))) {
		a->pushed = true;
		a->pushed_at = jl->at;
		if (jl->at > a->done)
			a->done = jl->at;
		if (dq_time_parse(dq_get_str(jl->line, "wall"), &wall) &&
		    wall > a->done)
			a->done = wall;
	}
}

static void
read_outcome(const struct dq_journal_line *jl)
{
	json_object *dispatch = dq_get(jl->record, "dispatch");
	const char *decision = dq_get_str(dispatch, "outcome");
	const char *applied = dq_get_str(dq_get(jl->record, "applied"),
	    "outcome");
	struct assignment *a;
	time_t wall;

	if (!decision || !applied || (strcmp(applied, "applied") &&
	    strcmp(applied, "unchanged")))
		return;		/* nothing reached the PSA */
	a = assignment_of(jl->ticket);
	end_assignment(a);
	if (strcmp(decision, "assigned") || !dq_get_str(dispatch, "chosen"))
		return;
	a->member = xstrdup(dq_get_str(dispatch, "chosen"));
	a->status = status_left(jl->record) ?
	    xstrdup(status_left(jl->record)) : NULL;
	a->at = a->done = jl->at;
	if (dq_time_parse(dq_get_str(jl->line, "wall"), &wall) && wall > a->done)
		a->done = wall;
	note_push(a, jl);
}

static void
read_event(const struct dq_journal_line *jl)
{
	const char *type = dq_get_str(jl->record, "type");
	const char *member = dq_get_str(jl->record, "member");
	struct assignment *a;

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
	a = assignment_of(jl->ticket);
	if (!strcmp(type, "ISSUE_NOACK"))
		a->noack_told = true;
	else if (!strcmp(type, "ISSUE_STALLED") && a->member)
		a->stall_told = true;
	else if (!strcmp(type, "ISSUE_STALLED"))
		a->queue_told = true;
}

static void
read_line(const struct dq_journal_line *jl, void *arg)
{
	struct assignment *a;
	const char *member;
	time_t *t;

	(void)arg;
	if (!jl->has_at)
		return;
	if (jl->ticket && dq_journal_ends(jl)) {	/* cleared or rejected */
		end_assignment(assignment_of(jl->ticket));
		return;
	}
	if (!strcmp(jl->phase, "event")) {
		read_event(jl);
		return;
	}
	if (!jl->ticket)
		return;
	if (!strcmp(jl->phase, "outcome")) {
		read_outcome(jl);
		return;
	}
	if (!(a = lookup(assignments, jl->ticket)) || !a->member)
		return;
	if (!strcmp(jl->phase, "approve") || !strcmp(jl->phase, "start"))
		note_push(a, jl);
	else if (!strcmp(jl->phase, "ack")) {
		a->acked = true;
		member = a->member;
		if (!(t = lookup(last_ack, member)) || *t < jl->at) {
			t = xcalloc(1, sizeof *t);
			*t = jl->at;
			set(last_ack, member, t);
		}
	}
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

/* Whether the ticket moved since dq assigned it: another status, or an
 * update after dq's own writes. */
static bool
progressed(json_object *ticket, const struct assignment *a)
{
	const char *status = dq_get_str(ticket, "status");
	const char *updated = dq_get_str(ticket, "updated_at");
	time_t t;

	if (status && a->status && strcmp(status, a->status))
		return true;
	return updated && dq_time_parse(updated, &t) && t > a->done;
}

/* Whether the member acknowledged: an ack line (agents), or, for work
 * booked in the PSA's calendar, the acknowledged flag of its entry. */
static bool
acknowledged(const char *ticket, const struct assignment *a)
{
	char key[512];
	bool *flag;

	if (a->acked)
		return true;
	snprintf(key, sizeof key, "%s\037%s", ticket, a->member);
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

/* dq's assignment of the ticket still stands: has it started? */
static void
watch_assigned(struct dq_input *in, const char *id, struct assignment *a)
{
	time_t now = dq_now();
	const char *cleared_by = NULL;
	json_object *e;

	if (!a->pushed || progressed(in->rec, a)) {
		dq_write_input(in);
		return;
	}
	if (dq_policy.ack_seconds && !acknowledged(id, a) &&
	    now - a->pushed_at >= dq_policy.ack_seconds) {
		if (dq_policy.redispatch_on_noack)
			cleared_by = "ISSUE_NOACK";
		if (!a->noack_told) {
			e = event("ISSUE_NOACK", id, a->member, "no-ack", a->pushed_at);
			json_object_object_add(e, "seconds",
			    json_object_new_int64((int64_t)(now - a->pushed_at)));
			if (cleared_by)
				json_object_object_add(e, "clear",
				    json_object_new_boolean(true));
			emit(e);
		}
	}
	if (dq_policy.stall_minutes &&
	    now - a->pushed_at >= dq_policy.stall_minutes * 60) {
		bool clears = !cleared_by && dq_policy.redispatch_on_stall;

		if (clears)
			cleared_by = "ISSUE_STALLED";
		if (!a->stall_told) {
			e = event("ISSUE_STALLED", id, a->member, "no-progress",
			    a->pushed_at);
			if (clears)
				json_object_object_add(e, "clear",
				    json_object_new_boolean(true));
			emit(e);
		}
	}
	if (cleared_by)
		clear(in, cleared_by, a->member);
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
	struct assignment *a;
	time_t since;

	a = lookup(assignments, id);
	/* For agents the journal holds the assignment and the ticket no
	 * owner; a different owner means a human took the ticket over. */
	if (a && a->member && (!owner || !strcmp(owner, a->member))) {
		watch_assigned(in, id, a);
		return;
	}
	if (!owner && !(a && a->member) && dq_policy.queue_stall_minutes &&
	    entered && queued(in->rec)) {
		if (!dq_time_parse(entered, &since))
			dq_die_data("ticket %s: \"entered_at\" is not an RFC 3339 "
			    "time", id);
		if (dq_now() - since >= dq_policy.queue_stall_minutes * 60 &&
		    !(a && a->queue_told))
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

	assignments = lh_kchar_table_new(256, free_assignment);
	idle_told = lh_kchar_table_new(16, free_key_value);
	last_ack = lh_kchar_table_new(16, free_key_value);
	entry_acks = lh_kchar_table_new(256, free_key_value);
	dq_journal_read(&dq_policy.journals, read_line, NULL);
	dq_stream_files(argc - first, argv + first, record, NULL);
	lh_table_free(assignments);
	lh_table_free(idle_told);
	lh_table_free(last_ack);
	lh_table_free(entry_acks);
	return dq_close_stdout(0);
}
