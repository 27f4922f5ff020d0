/* context.c: the boards, teams, members and history a stage keeps while
 * tickets stream past. A later record with the same kind and id replaces
 * the earlier one; what a stage learned in this run (who it dispatched)
 * survives the replacement. */
#include <config.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/linkhash.h>

#include "dq.h"

struct dq_context {
	unsigned long generation;	/* context records taken so far */
	struct lh_table *members;	/* id -> struct dq_member */
	struct lh_table *teams;		/* id -> struct dq_team */
	struct lh_table *boards;	/* name -> board record */
	struct lh_table *companies;	/* id -> company record */
	struct lh_table *history;	/* ticket -> history record */
	struct lh_table *by_owner;	/* owner -> struct history_list */
	struct lh_table *closed;	/* status name closed on some board */
	struct lh_table *calendars;	/* member -> struct dq_calendar */
	struct lh_table *entries;	/* entry id -> struct entry */
	struct lh_table *entry_tickets;	/* ticket -> entries naming it (long) */
	struct lh_table *run_tickets;	/* ticket -> struct run_ticket */
	json_object *journal_last;	/* member -> last dispatch, from
					 * the journal */
	struct dq_team **team_order;	/* sorted by id */
	size_t nteams;
	bool teams_dirty, history_dirty, closed_dirty;
	long seq;
};

/* What a ticket's record did to this run's state, so that a later record
 * of the ticket, which replaces it (DESIGN §2), can take it back. */
struct run_ticket {
	size_t lineno;		/* the record's */
	char *member;		/* whom it was dispatched to, or NULL */
	long seq;		/* that dispatch's place in the run */
	char *booked;		/* whose calendar holds its slot, or NULL */
	struct dq_span slot;
};

struct history_list {
	struct dq_hist *v;
	size_t n, cap;
};

/* Where an entry record went, so that a later one with its id can take
 * it back out. */
struct entry {
	char *id, *member, *ticket;
	struct dq_span span;
};

static void
free_member(struct lh_entry *e)
{
	struct dq_member *m = lh_entry_v(e);

	dq_hours_free(&m->hours);
	free(m->away);
	json_object_put(m->rec);
	free(m->id);
	free(m);
}

static void
free_team(struct lh_entry *e)
{
	struct dq_team *t = lh_entry_v(e);

	json_object_put(t->rec);
	free(t->id);
	free(t);
}

static void
free_key_record(struct lh_entry *e)
{
	free(lh_entry_k(e));
	json_object_put(lh_entry_v(e));
}

static void
free_history_list(struct lh_entry *e)
{
	struct history_list *l = lh_entry_v(e);

	free(lh_entry_k(e));
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].words);
	free(l->v);
	free(l);
}

static void
free_key(struct lh_entry *e)
{
	free(lh_entry_k(e));
}

static void
free_key_value(struct lh_entry *e)
{
	free(lh_entry_k(e));
	free(lh_entry_v(e));
}

static void
free_calendar(struct lh_entry *e)
{
	free(lh_entry_k(e));
	dq_calendar_free(lh_entry_v(e));
}

static void
free_entry(struct lh_entry *e)
{
	struct entry *en = lh_entry_v(e);

	free(en->id);
	free(en->member);
	free(en->ticket);
	free(en);
}

static void
free_run_ticket(struct lh_entry *e)
{
	struct run_ticket *rt = lh_entry_v(e);

	free(lh_entry_k(e));
	free(rt->member);
	free(rt->booked);
	free(rt);
}

struct dq_context *
dq_context_new(void)
{
	struct dq_context *ctx = xcalloc(1, sizeof *ctx);

	ctx->members = lh_kchar_table_new(64, free_member);
	ctx->teams = lh_kchar_table_new(16, free_team);
	ctx->boards = lh_kchar_table_new(16, free_key_record);
	ctx->companies = lh_kchar_table_new(64, free_key_record);
	ctx->history = lh_kchar_table_new(64, free_key_record);
	ctx->by_owner = lh_kchar_table_new(64, free_history_list);
	ctx->closed = lh_kchar_table_new(16, free_key);
	ctx->calendars = lh_kchar_table_new(64, free_calendar);
	ctx->entries = lh_kchar_table_new(256, free_entry);
	ctx->entry_tickets = lh_kchar_table_new(256, free_key_value);
	ctx->run_tickets = lh_kchar_table_new(256, free_run_ticket);
	return ctx;
}

void
dq_context_free(struct dq_context *ctx)
{
	lh_table_free(ctx->members);
	lh_table_free(ctx->teams);
	lh_table_free(ctx->boards);
	lh_table_free(ctx->companies);
	lh_table_free(ctx->history);
	lh_table_free(ctx->by_owner);
	lh_table_free(ctx->closed);
	lh_table_free(ctx->calendars);
	lh_table_free(ctx->entries);
	lh_table_free(ctx->entry_tickets);
	lh_table_free(ctx->run_tickets);
	json_object_put(ctx->journal_last);
	free(ctx->team_order);
	free(ctx);
}

void
dq_context_journal(struct dq_context *ctx, const struct dq_strlist *journals)
{
	json_object_put(ctx->journal_last);
	ctx->journal_last = dq_journal_last_dispatch(journals);
}

static void *
lookup(struct lh_table *t, const char *k)
{
	void *v;

	return k && lh_table_lookup_ex(t, k, &v) ? v : NULL;
}

static void
need_string_array(json_object *a, const char *what)
{
	if (!a)
		return;
	if (!json_object_is_type(a, json_type_array))
		dq_die_data("%s: expected a list of strings", what);
	for (size_t i = 0; i < json_object_array_length(a); i++)
		if (!json_object_is_type(json_object_array_get_idx(a, i),
		    json_type_string))
			dq_die_data("%s: expected a list of strings", what);
}

static bool
optional_time(json_object *rec, const char *field, const char *id, time_t *out)
{
	json_object *v = dq_get(rec, field);

	if (!v)
		return false;
	if (!json_object_is_type(v, json_type_string) ||
	    !dq_time_parse(json_object_get_string(v), out))
		dq_die_data("member %s: \"%s\" is not an RFC 3339 time", id, field);
	return true;
}

/* The member's "away" spans, sorted: [{"start", "end", "type"}]. */
static size_t
read_away(json_object *rec, const char *id, struct dq_span **out)
{
	json_object *away = dq_get(rec, "away");
	struct dq_span *v;
	size_t n;

	*out = NULL;
	if (!away)
		return 0;
	if (!json_object_is_type(away, json_type_array))
		dq_die_data("member %s: \"away\" must be a list of {\"start\", "
		    "\"end\", \"type\"}", id);
	n = json_object_array_length(away);
	v = xcalloc(n + 1, sizeof *v);
	for (size_t i = 0; i < n; i++) {
		json_object *a = json_object_array_get_idx(away, i);
		json_object *type = dq_get(a, "type");

		if (!json_object_is_type(a, json_type_object) ||
		    (type && !json_object_is_type(type, json_type_string)))
			dq_die_data("member %s: \"away\" must be a list of "
			    "{\"start\", \"end\", \"type\"}", id);
		if (!dq_time_parse(dq_get_str(a, "start"), &v[i].start) ||
		    !dq_time_parse(dq_get_str(a, "end"), &v[i].end))
			dq_die_data("member %s: away %zu: \"start\" and \"end\" "
			    "must be RFC 3339 times", id, i + 1);
		if (v[i].end < v[i].start)
			dq_die_data("member %s: away %zu: \"end\" is before "
			    "\"start\"", id, i + 1);
	}
	qsort(v, n, sizeof *v, dq_span_cmp);
	*out = v;
	return n;
}

static void
add_member(struct dq_context *ctx, json_object *rec)
{
	const char *id = dq_need_str(rec, "member", "id");
	struct dq_member *m = xcalloc(1, sizeof *m), *old;
	struct dq_calendar *cal;
	const char *status = dq_get_str(rec, "status");
	json_object *max = dq_get(rec, "max_concurrent");
	time_t journal_last;
	char err[256];

	m->id = xstrdup(id);
	m->rec = json_object_get(rec);
	m->archived = dq_get_bool(rec, "archived", false);
	if (!status || !strcmp(status, "ONLINE"))
		m->presence = DQ_ONLINE;
	else if (!strcmp(status, "BUSY"))
		m->presence = DQ_BUSY;
	else if (!strcmp(status, "OFFLINE"))
		m->presence = DQ_OFFLINE;
	else
		dq_die_data("member %s: status \"%s\" is not ONLINE, BUSY or "
		    "OFFLINE", id, status);
	if (max && (!json_object_is_type(max, json_type_int) ||
	    json_object_get_int64(max) < 0))
		dq_die_data("member %s: \"max_concurrent\" must be a whole "
		    "number, 0 for no limit", id);
	m->max_concurrent = max ? (long)json_object_get_int64(max) : 0;
	need_string_array(dq_get(rec, "teams"), "member: teams");
	need_string_array(dq_get(rec, "capabilities"), "member: capabilities");
	if (dq_get(rec, "open") && !json_object_is_type(dq_get(rec, "open"),
	    json_type_object))
		dq_die_data("member %s: \"open\" must map status names to counts", id);
	m->tz = dq_get_str(rec, "tz");
	m->tz_known = !m->tz || dq_zone_valid(m->tz);
	if (!m->tz_known && !dq_policy.quiet)
		dq_warnx("%s: member %s: unknown time zone \"%s\"", dq_where(),
		    id, m->tz);
	if (!dq_hours_parse(dq_get(rec, "hours"), dq_get(rec, "holidays"),
	    &m->hours, err, sizeof err))
		dq_die_data("member %s: %s", id, err);
	m->has_last = optional_time(rec, "last_dispatched_at", id,
	    &m->last_dispatched);
	/* DESIGN §3: the later of the record's and the journal's. */
	if (dq_time_parse(dq_get_str(ctx->journal_last, id), &journal_last) &&
	    (!m->has_last || journal_last > m->last_dispatched)) {
		m->last_dispatched = journal_last;
		m->has_last = true;
	}
	m->has_created = optional_time(rec, "created_at", id, &m->created);
	m->naway = read_away(rec, id, &m->away);
	cal = dq_member_calendar(ctx, id);
	if ((old = lookup(ctx->members, id))) {
		m->run_seq = old->run_seq;
		m->run_assigned = old->run_assigned;
		for (size_t i = 0; i < old->naway; i++)
			dq_calendar_remove(cal, old->away[i]);
		lh_table_delete(ctx->members, id);
	}
	dq_calendar_forget_hours(cal);	/* spans of the old hours */
	/* An absence is busy time, as an entry is (DESIGN §5). */
	for (size_t i = 0; i < m->naway; i++)
		dq_calendar_add(cal, m->away[i]);
	lh_table_insert(ctx->members, m->id, m);
}

static void
add_team(struct dq_context *ctx, json_object *rec)
{
	const char *id = dq_need_str(rec, "team", "id");
	struct dq_team *t = xcalloc(1, sizeof *t);

	t->id = xstrdup(id);
	t->rec = json_object_get(rec);
	t->name = dq_get_str(rec, "name");
	t->is_default = dq_get_bool(rec, "default", false);
	t->boards = dq_get(rec, "boards");
	t->members = dq_get(rec, "members");
	need_string_array(t->boards, "team: boards");
	need_string_array(t->members, "team: members");
	lh_table_delete(ctx->teams, id);
	lh_table_insert(ctx->teams, t->id, t);
	ctx->teams_dirty = true;
}

static void
add_board(struct dq_context *ctx, json_object *rec)
{
	const char *name = dq_need_str(rec, "board", "name");
	json_object *statuses = dq_get(rec, "statuses");

	dq_need_str(rec, "board", "id");
	if (statuses && !json_object_is_type(statuses, json_type_array))
		dq_die_data("board %s: \"statuses\" must be a list", name);
	lh_table_delete(ctx->boards, name);
	lh_table_insert(ctx->boards, xstrdup(name), json_object_get(rec));
	ctx->closed_dirty = true;
}

static void
add_company(struct dq_context *ctx, json_object *rec)
{
	const char *id = dq_need_str(rec, "company", "id");

	if (dq_get(rec, "name") && !dq_get_str(rec, "name"))
		dq_die_data("company %s: \"name\" must be a string", id);
	lh_table_delete(ctx->companies, id);
	lh_table_insert(ctx->companies, xstrdup(id), json_object_get(rec));
}

static void
add_history(struct dq_context *ctx, json_object *rec)
{
	const char *ticket = dq_need_str(rec, "history", "ticket");

	dq_need_str(rec, "history", "owner");
	if (dq_get(rec, "closed_at") && (!dq_get_str(rec, "closed_at") ||
	    !dq_time_parse(dq_get_str(rec, "closed_at"), &(time_t){ 0 })))
		dq_die_data("history %s: \"closed_at\" is not an RFC 3339 time",
		    ticket);
	lh_table_delete(ctx->history, ticket);
	lh_table_insert(ctx->history, xstrdup(ticket), json_object_get(rec));
	ctx->history_dirty = true;
}

static void
count_ticket(struct dq_context *ctx, const char *ticket, long delta)
{
	long *n;

	if (!ticket)
		return;
	if (!(n = lookup(ctx->entry_tickets, ticket))) {
		n = xcalloc(1, sizeof *n);
		lh_table_insert(ctx->entry_tickets, xstrdup(ticket), n);
	}
	if ((*n += delta) == 0)
		lh_table_delete(ctx->entry_tickets, ticket);
}

static time_t
entry_time(json_object *rec, const char *field, const char *id)
{
	time_t t;

	if (!dq_time_parse(dq_get_str(rec, field), &t))
		dq_die_data("entry %s: \"%s\" is not an RFC 3339 time", id, field);
	return t;
}

static void
add_entry(struct dq_context *ctx, json_object *rec)
{
	const char *id = dq_need_str(rec, "entry", "id");
	json_object *ticket = dq_get(rec, "ticket");
	struct entry *e, *old;

	if (ticket && !json_object_is_type(ticket, json_type_string))
		dq_die_data("entry %s: \"ticket\" must be a string", id);
	e = xcalloc(1, sizeof *e);
	e->member = xstrdup(dq_need_str(rec, "entry", "member"));
	e->span.start = entry_time(rec, "start", id);
	e->span.end = entry_time(rec, "end", id);
	if (e->span.end < e->span.start)
		dq_die_data("entry %s: \"end\" is before \"start\"", id);
	e->ticket = ticket ? xstrdup(json_object_get_string(ticket)) : NULL;
	e->id = xstrdup(id);
	if ((old = lookup(ctx->entries, id))) {
		dq_calendar_remove(dq_member_calendar(ctx, old->member), old->span);
		count_ticket(ctx, old->ticket, -1);
		lh_table_delete(ctx->entries, id);
	}
	dq_calendar_add(dq_member_calendar(ctx, e->member), e->span);
	count_ticket(ctx, e->ticket, 1);
	lh_table_insert(ctx->entries, e->id, e);
}

bool
dq_context_add(struct dq_context *ctx, const char *kind, json_object *rec)
{
	if (!strcmp(kind, "member"))
		add_member(ctx, rec);
	else if (!strcmp(kind, "team"))
		add_team(ctx, rec);
	else if (!strcmp(kind, "board"))
		add_board(ctx, rec);
	else if (!strcmp(kind, "history"))
		add_history(ctx, rec);
	else if (!strcmp(kind, "entry"))
		add_entry(ctx, rec);
	else if (!strcmp(kind, "company"))
		add_company(ctx, rec);
	else
		return false;
	ctx->generation++;
	return true;
}

unsigned long
dq_context_generation(const struct dq_context *ctx)
{
	return ctx->generation;
}

struct dq_member *
dq_member_get(struct dq_context *ctx, const char *id)
{
	return lookup(ctx->members, id);
}

struct dq_team *
dq_team_get(struct dq_context *ctx, const char *id)
{
	return lookup(ctx->teams, id);
}

json_object *
dq_board_get(struct dq_context *ctx, const char *name)
{
	return lookup(ctx->boards, name);
}

struct dq_calendar *
dq_member_calendar(struct dq_context *ctx, const char *id)
{
	struct dq_calendar *cal = lookup(ctx->calendars, id);

	if (!cal) {
		cal = dq_calendar_new();
		lh_table_insert(ctx->calendars, xstrdup(id), cal);
	}
	return cal;
}

bool
dq_ticket_has_entry(struct dq_context *ctx, const char *ticket)
{
	return lookup(ctx->entry_tickets, ticket) != NULL;
}

static int
member_cmp(const void *a, const void *b)
{
	const struct dq_member *x = *(struct dq_member *const *)a;
	const struct dq_member *y = *(struct dq_member *const *)b;

	return strcmp(x->id, y->id);
}

size_t
dq_member_list(struct dq_context *ctx, struct dq_member ***out)
{
	struct dq_member **v = xcalloc((size_t)ctx->members->count + 1, sizeof *v);
	struct lh_entry *e;
	size_t n = 0;

	lh_foreach(ctx->members, e)
		v[n++] = lh_entry_v(e);
	qsort(v, n, sizeof *v, member_cmp);
	*out = v;
	return n;
}

bool
dq_companies_known(struct dq_context *ctx)
{
	return ctx->companies->count > 0;
}

bool
dq_company_named(struct dq_context *ctx, const char *name)
{
	struct lh_entry *e;

	lh_foreach(ctx->companies, e) {
		const char *n = dq_get_str(lh_entry_v(e), "name");

		if (n && !strcmp(n, name))
			return true;
	}
	return false;
}

bool
dq_context_names(struct dq_context *ctx, enum dq_name_kind kind,
    const char *name)
{
	struct lh_entry *e;

	if (kind == DQ_NAME_COMPANY) {
		lh_foreach(ctx->companies, e) {
			const char *n = dq_get_str(lh_entry_v(e), "name");

			if (n && !strcasecmp(n, name))
				return true;
		}
		return false;
	}
	lh_foreach(ctx->boards, e) {
		json_object *st = dq_get(lh_entry_v(e), "statuses");

		if (kind == DQ_NAME_BOARD && !strcasecmp(lh_entry_k(e), name))
			return true;
		for (size_t i = 0; kind == DQ_NAME_STATUS && st &&
		    i < json_object_array_length(st); i++) {
			const char *n = dq_get_str(json_object_array_get_idx(st,
			    i), "name");

			if (n && !strcasecmp(n, name))
				return true;
		}
	}
	if (kind != DQ_NAME_STATUS)
		return false;
	lh_foreach(ctx->members, e) {
		json_object *open = dq_get(((struct dq_member *)
		    lh_entry_v(e))->rec, "open");
		struct json_object_iter it;

		if (!open)
			continue;
		json_object_object_foreachC(open, it)
			if (!strcasecmp(it.key, name))
				return true;
	}
	return false;
}

static int
team_cmp(const void *a, const void *b)
{
	const struct dq_team *x = *(struct dq_team *const *)a;
	const struct dq_team *y = *(struct dq_team *const *)b;

	return strcmp(x->id, y->id);
}

static void
sort_teams(struct dq_context *ctx)
{
	struct lh_entry *e;
	size_t n = 0;

	if (!ctx->teams_dirty && ctx->team_order)
		return;
	ctx->team_order = xrealloc(ctx->team_order,
	    (size_t)ctx->teams->count * sizeof *ctx->team_order);
	lh_foreach(ctx->teams, e)
		ctx->team_order[n++] = lh_entry_v(e);
	qsort(ctx->team_order, n, sizeof *ctx->team_order, team_cmp);
	ctx->nteams = n;
	ctx->teams_dirty = false;
}

struct dq_team *
dq_team_find(struct dq_context *ctx, const char *id_or_name)
{
	struct dq_team *t = dq_team_get(ctx, id_or_name);

	sort_teams(ctx);
	for (size_t i = 0; !t && i < ctx->nteams; i++)
		if (ctx->team_order[i]->name &&
		    !strcmp(ctx->team_order[i]->name, id_or_name))
			t = ctx->team_order[i];
	return t;
}

static bool
array_has(json_object *a, const char *s)
{
	for (size_t i = 0; a && i < json_object_array_length(a); i++)
		if (!strcmp(json_object_get_string(json_object_array_get_idx(a, i)), s))
			return true;
	return false;
}

bool
dq_team_serves(const struct dq_team *t, const char *board)
{
	return board && array_has(t->boards, board);
}

bool
dq_team_has_member(const struct dq_team *t, const char *id)
{
	return array_has(t->members, id);
}

struct dq_team *
dq_default_team(struct dq_context *ctx, const char *board)
{
	sort_teams(ctx);
	for (size_t i = 0; i < ctx->nteams; i++)
		if (ctx->team_order[i]->is_default &&
		    dq_team_serves(ctx->team_order[i], board))
			return ctx->team_order[i];
	return NULL;
}

size_t
dq_board_teams(struct dq_context *ctx, const char *board, struct dq_team ***out)
{
	struct dq_team **v;
	size_t n = 0;

	sort_teams(ctx);
	v = xcalloc(ctx->nteams, sizeof *v);
	for (size_t i = 0; i < ctx->nteams; i++)
		if (dq_team_serves(ctx->team_order[i], board))
			v[n++] = ctx->team_order[i];
	*out = v;
	return n;
}

static void
index_closed(struct dq_context *ctx)
{
	struct lh_entry *e;

	if (!ctx->closed_dirty)
		return;
	lh_table_free(ctx->closed);
	ctx->closed = lh_kchar_table_new(16, free_key);
	lh_foreach(ctx->boards, e) {
		json_object *st = dq_get(lh_entry_v(e), "statuses");

		for (size_t i = 0; st && i < json_object_array_length(st); i++) {
			json_object *s = json_object_array_get_idx(st, i);
			const char *name = dq_get_str(s, "name");

			if (name && dq_get_bool(s, "closed", false) &&
			    !lookup(ctx->closed, name))
				lh_table_insert(ctx->closed, xstrdup(name), ctx);
		}
	}
	ctx->closed_dirty = false;
}

long
dq_member_active(struct dq_context *ctx, struct dq_member *m,
    const struct dq_strlist *inactive)
{
	json_object *open = dq_get(m->rec, "open");
	long active = 0;

	/* Counted once while the context stays the same: the inactive
	 * statuses are the run's, and boards say which are closed. */
	if (m->open_counted == ctx->generation + 1)
		return m->open_active + m->run_assigned;
	if (open) {
		struct json_object_iter it;

		index_closed(ctx);
		json_object_object_foreachC(open, it) {
			if (dq_strlist_has_icase(inactive, it.key) ||
			    lookup(ctx->closed, it.key))
				continue;
			if (json_object_is_type(it.val, json_type_int))
				active += (long)json_object_get_int64(it.val);
		}
	}
	m->open_active = active;
	m->open_counted = ctx->generation + 1;
	return active + m->run_assigned;
}

bool
dq_member_full(const struct dq_member *m, long active, char *why,
    size_t whylen)
{
	long limit = dq_policy.max_active >= 0 ? dq_policy.max_active :
	    m->max_concurrent;

	if (limit <= 0 || active < limit)
		return false;
	snprintf(why, whylen, "at-capacity:%ld/%ld", active, limit);
	return true;
}

bool
dq_member_last_given(const struct dq_member *m, time_t *at)
{
	*at = m->last_dispatched;
	if (m->run_seq && (!m->has_last || *at < dq_now()))
		*at = dq_now();
	return m->has_last || m->run_seq;
}

static int
cmp_time(bool has_a, time_t a, bool has_b, time_t b)
{
	if (has_a != has_b)
		return has_a ? 1 : -1;	/* never sorts first */
	if (!has_a || a == b)
		return 0;
	return a < b ? -1 : 1;
}

int
dq_member_rr_cmp(const struct dq_member *a, const struct dq_member *b)
{
	time_t ta, tb;
	bool has_a = dq_member_last_given(a, &ta);
	bool has_b = dq_member_last_given(b, &tb);
	int c;

	if ((c = cmp_time(has_a, ta, has_b, tb)))
		return c;
	if (a->run_seq != b->run_seq)
		return a->run_seq < b->run_seq ? -1 : 1;
	if ((c = cmp_time(a->has_created, a->created, b->has_created, b->created)))
		return c;
	return strcmp(a->id, b->id);
}

bool
dq_member_away(const struct dq_member *m, time_t t, time_t *back)
{
	bool away = false;

	/* Sorted by start: the spans from the one covering t onward that
	 * leave no gap make one absence. */
	for (size_t i = 0; i < m->naway && m->away[i].start <= t; i++) {
		if (m->away[i].end <= t)
			continue;
		if (!away || m->away[i].end > *back)
			*back = m->away[i].end;
		away = true;
	}
	for (size_t i = 0; away && i < m->naway; i++)
		if (m->away[i].start > t && m->away[i].start <= *back &&
		    m->away[i].end > *back)
			*back = m->away[i].end;
	return away;
}

static struct run_ticket *
run_ticket(struct dq_context *ctx, const char *ticket)
{
	struct run_ticket *rt = lookup(ctx->run_tickets, ticket);

	if (!rt) {
		rt = xcalloc(1, sizeof *rt);
		lh_table_insert(ctx->run_tickets, xstrdup(ticket), rt);
	}
	return rt;
}

void
dq_member_dispatched(struct dq_context *ctx, struct dq_member *m,
    const char *ticket)
{
	struct run_ticket *rt = run_ticket(ctx, ticket);

	m->run_seq = ++ctx->seq;
	m->run_assigned++;
	free(rt->member);
	rt->member = xstrdup(m->id);
	rt->seq = m->run_seq;
}

void
dq_ticket_book(struct dq_context *ctx, const char *ticket, const char *member,
    struct dq_span slot)
{
	struct run_ticket *rt = run_ticket(ctx, ticket);

	dq_calendar_book(dq_member_calendar(ctx, member), slot);
	free(rt->booked);
	rt->booked = xstrdup(member);
	rt->slot = slot;
}

/* The place in the run of member's latest dispatch other than skip's;
 * 0 when it has none. */
static long
latest_dispatch(struct dq_context *ctx, const char *member,
    const struct run_ticket *skip)
{
	struct lh_entry *e;
	long seq = 0;

	lh_foreach(ctx->run_tickets, e) {
		const struct run_ticket *rt = lh_entry_v(e);

		if (rt != skip && rt->member && !strcmp(rt->member, member) &&
		    rt->seq > seq)
			seq = rt->seq;
	}
	return seq;
}

/* Takes back what a ticket's earlier record did: its dispatch (the
 * member's in-run count and place in the round robin) and its booking. */
static void
undo(struct dq_context *ctx, struct run_ticket *rt)
{
	struct dq_member *m;

	if (rt->member && (m = dq_member_get(ctx, rt->member))) {
		m->run_assigned--;
		if (m->run_seq == rt->seq)
			m->run_seq = latest_dispatch(ctx, m->id, rt);
	}
	if (rt->booked)
		dq_calendar_remove(dq_member_calendar(ctx, rt->booked), rt->slot);
	free(rt->member);
	free(rt->booked);
	rt->member = rt->booked = NULL;
}

void
dq_ticket_arrives(struct dq_context *ctx, const char *ticket, size_t lineno)
{
	struct run_ticket *rt = lookup(ctx->run_tickets, ticket);

	if (rt) {
		dq_warn_again(ticket, rt->lineno);
		undo(ctx, rt);
	} else
		rt = run_ticket(ctx, ticket);
	rt->lineno = lineno;
}

static void
index_history(struct dq_context *ctx)
{
	struct lh_entry *e;

	if (!ctx->history_dirty)
		return;
	lh_table_free(ctx->by_owner);
	ctx->by_owner = lh_kchar_table_new(64, free_history_list);
	lh_foreach(ctx->history, e) {
		json_object *rec = lh_entry_v(e);
		const char *owner = dq_get_str(rec, "owner");
		struct history_list *l = lookup(ctx->by_owner, owner);

		if (!l) {
			l = xcalloc(1, sizeof *l);
			lh_table_insert(ctx->by_owner, xstrdup(owner), l);
		}
		if (l->n == l->cap) {
			l->cap = l->cap ? 2 * l->cap : 8;
			l->v = xrealloc(l->v, l->cap * sizeof *l->v);
		}
		dq_hist_init(&l->v[l->n++], rec);
	}
	ctx->history_dirty = false;
}

size_t
dq_member_history(struct dq_context *ctx, const char *id, struct dq_hist **out)
{
	struct history_list *l;

	index_history(ctx);
	l = lookup(ctx->by_owner, id);
	*out = l ? l->v : NULL;
	return l ? l->n : 0;
}

struct stage {
	struct dq_context *ctx;
	dq_record_fn ticket;
};

static void
stage_record(struct dq_input *in, void *arg)
{
	struct stage *s = arg;

	if (!strcmp(in->kind, "ticket")) {
		s->ticket(in, s->ctx);
		return;
	}
	if (!strcmp(in->kind, "run"))
		dq_clock_observe(in->rec);
	else
		dq_context_add(s->ctx, in->kind, in->rec);
	dq_write_input(in);
}

void
dq_stage_stream(int argc, char **argv, struct dq_context *ctx, dq_record_fn ticket)
{
	struct stage s = { ctx, ticket };

	dq_stream_files(argc, argv, stage_record, &s);
}
