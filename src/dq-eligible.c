/* dq-eligible: which tickets trigger dispatch, and who could take each. */
#include <config.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/linkhash.h>

#include "dq.h"

static struct dq_context *ctx;
static struct dq_pods *pods;
static struct dq_holdings *holdings;	/* the journal's, with --journal */

/* Tickets of one board and team share their pool, and a member's
 * standing does not change from ticket to ticket: both are worked out
 * once, and again only when the context or the clock moves. */
struct pool {
	unsigned long generation;
	struct dq_strlist ids;		/* sorted */
	const char *name;
	char *team;
	/* The pool's eligible annotation as written, for every ticket
	 * without a pod, previous owner or rejection, while the context
	 * and the clock stay the same. */
	char *judged;
	size_t judged_len;
	unsigned long judged_generation;
	time_t judged_now;
};
struct judged {
	unsigned long generation;
	time_t now;
	char *why;			/* NULL: eligible */
};
static struct lh_table *pools;		/* "t" team id or "b" board -> pool */
static struct lh_table *judgements;	/* member id -> struct judged */

/* The name filters, and whether each value has met a name in the run's
 * tickets: one that meets none here or in the context is a typo worth a
 * warning, not a silent skip of every ticket (DESIGN §8). */
static struct filter {
	const char *option;
	struct dq_strlist *values;
	bool *met;
} filters[] = {
	{ "--board", &dq_policy.boards, NULL },
	{ "--trigger-status", &dq_policy.trigger_statuses, NULL },
	{ "--company", &dq_policy.companies, NULL },
	{ "--exclude-company", &dq_policy.exclude_companies, NULL },
	{ "--inactive-status", &dq_policy.inactive_statuses, NULL },
};
#define NFILTERS (sizeof filters / sizeof filters[0])
static bool seen_ticket;

static void
meet(struct filter *f, const char *name)
{
	for (size_t i = 0; name && i < f->values->n; i++)
		if (!strcasecmp(f->values->v[i], name))
			f->met[i] = true;
}

static void
meet_ticket(json_object *t)
{
	const char *board = dq_get_str(t, "board");
	const char *status = dq_get_str(t, "status");
	const char *company = dq_get_str(t, "company");

	if (!filters[0].met)
		for (size_t i = 0; i < NFILTERS; i++)
			filters[i].met = xcalloc(filters[i].values->n + 1, 1);
	seen_ticket = true;
	meet(&filters[0], board);
	meet(&filters[1], status);
	meet(&filters[2], company);
	meet(&filters[3], company);
	meet(&filters[4], status);
}

static void
warn_unmet(void)
{
	static const enum dq_name_kind kinds[NFILTERS] = {
		DQ_NAME_BOARD, DQ_NAME_STATUS, DQ_NAME_COMPANY,
		DQ_NAME_COMPANY, DQ_NAME_STATUS,
	};

	for (size_t i = 0; i < NFILTERS; i++) {
		for (size_t j = 0; seen_ticket && !dq_policy.quiet &&
		    j < filters[i].values->n; j++)
			if (!filters[i].met[j] && !dq_context_names(ctx, kinds[i],
			    filters[i].values->v[j]))
				dq_warnx("%s \"%s\": no %s of that name in the "
				    "context or the tickets", filters[i].option,
				    filters[i].values->v[j], kinds[i] ==
				    DQ_NAME_BOARD ? "board" : kinds[i] ==
				    DQ_NAME_STATUS ? "status" : "company");
		free(filters[i].met);
	}
}

static json_object *
skipped(const char *reason)
{
	json_object *d = json_object_new_object();

	json_object_object_add(d, "outcome", json_object_new_string("skipped"));
	json_object_object_add(d, "reason", json_object_new_string(reason));
	return d;
}

/* Why a ticket does not trigger dispatch, or NULL when it does. A ticket
 * dq-watch cleared counts as unowned and triggered. */
static const char *
skip_reason(json_object *ticket, bool cleared)
{
	static char reason[512];
	const char *company = dq_get_str(ticket, "company");
	const char *board = dq_get_str(ticket, "board");
	const char *status = dq_get_str(ticket, "status");
	struct dq_holding h;

	if (!dq_policy.auto_dispatch)
		return "auto-dispatch-off";
	if (!cleared && dq_policy.boards.n && !(board &&
	    dq_strlist_has_icase(&dq_policy.boards, board)))
		return "board";
	if (!cleared && dq_policy.trigger_statuses.n && !(status &&
	    dq_strlist_has_icase(&dq_policy.trigger_statuses, status)))
		return "status";
	if (dq_policy.companies.n && !(company &&
	    dq_strlist_has_icase(&dq_policy.companies, company))) {
		snprintf(reason, sizeof reason, "company-not-included:%s",
		    company ? company : "");
		return reason;
	}
	if (company && dq_strlist_has_icase(&dq_policy.exclude_companies,
	    company)) {
		snprintf(reason, sizeof reason, "company-excluded:%s", company);
		return reason;
	}
	if (cleared)	/* clearing a ticket is what dispatches it again */
		return NULL;
	dq_holding(holdings, dq_get_str(ticket, "id"), &h);
	/* For agents the journal is where assignments live. */
	if (dq_get(ticket, "owner") || (h.member && h.webhook && !h.cleared))
		return "already-owned";
	if ((dq_policy.once && h.applied) ||
	    (!dq_policy.retry && (h.applied || h.unassigned)))
		return "already-dispatched";
	return NULL;
}

static void
add_members(struct dq_strlist *pool, const struct dq_team *t)
{
	for (size_t i = 0; t->members && i < json_object_array_length(t->members); i++)
		dq_strlist_add(pool, json_object_get_string(
		    json_object_array_get_idx(t->members, i)));
}

/* Sorts the ids and drops the repeats of members in two teams. */
static void
settle_pool(struct dq_strlist *pool)
{
	size_t n = 0;

	if (pool->n < 2)	/* v is NULL when the pool is empty */
		return;
	qsort(pool->v, pool->n, sizeof *pool->v, dq_strcmp_ptr);
	for (size_t i = 0; i < pool->n; i++) {
		if (n > 0 && !strcmp(pool->v[n - 1], pool->v[i])) {
			free(pool->v[i]);
			continue;
		}
		pool->v[n++] = pool->v[i];
	}
	pool->n = n;
}

/* The pool of DESIGN §3: the ticket's team, else the board's default
 * team, else every team on the board. Returns the pool's name. */
static const char *
make_pool(json_object *ticket, struct dq_strlist *pool, const char **team)
{
	const char *board = dq_get_str(ticket, "board");
	const char *ticket_team = dq_get_str(ticket, "team");
	struct dq_team *t, **teams;
	size_t n;

	*team = NULL;
	if (ticket_team) {
		*team = ticket_team;
		if ((t = dq_team_get(ctx, ticket_team)))
			add_members(pool, t);
		else if (!dq_policy.quiet)
			dq_warnx("%s: ticket %s: no team record with id \"%s\"",
			    dq_where(), dq_get_str(ticket, "id"), ticket_team);
		return "ticket-team";
	}
	if ((t = dq_default_team(ctx, board))) {
		*team = t->id;
		add_members(pool, t);
		return "default-team";
	}
	n = dq_board_teams(ctx, board, &teams);
	for (size_t i = 0; i < n; i++)
		add_members(pool, teams[i]);
	free(teams);
	return "board-teams";
}

static void
free_pool(struct lh_entry *e)
{
	struct pool *p = lh_entry_v(e);

	free(lh_entry_k(e));
	dq_strlist_clear(&p->ids);
	free(p->team);
	free(p->judged);
	free(p);
}

static struct pool *
find_pool(json_object *ticket)
{
	const char *ticket_team = dq_get_str(ticket, "team");
	const char *board = dq_get_str(ticket, "board");
	char *key = dq_asprintf("%c%s", ticket_team ? 't' : 'b',
	    ticket_team ? ticket_team : board ? board : "");
	struct lh_entry *e = lh_table_lookup_entry(pools, key);
	struct pool *p = e ? lh_entry_v(e) : NULL;
	const char *team;

	if (p && p->generation == dq_context_generation(ctx)) {
		free(key);
		return p;
	}
	if (p) {
		dq_strlist_clear(&p->ids);
		free(p->team);
		free(p->judged);
		p->judged = NULL;
	} else {
		p = xcalloc(1, sizeof *p);
		lh_table_insert(pools, key, p);
		key = NULL;
	}
	free(key);
	p->generation = dq_context_generation(ctx);
	p->name = make_pool(ticket, &p->ids, &team);
	p->team = team ? xstrdup(team) : NULL;
	settle_pool(&p->ids);
	return p;
}

/* Why member id cannot take work now, or NULL; previous-owner is the
 * caller's to say. */
static const char *
standing(const char *id, time_t now)
{
	static char why[64];
	struct dq_member *m = dq_member_get(ctx, id);
	time_t back;

	if (!m)
		return "unknown-member";
	if (m->archived)
		return "archived";
	/* Away now is offline, whatever the status says; but an earliest
	 * slot can wait for a return within the horizon, the absence being
	 * busy time on the calendar (DESIGN §5). A status OFFLINE with no
	 * absence over now is the source's own word, and stands. */
	if (dq_member_away(m, now, &back)) {
		if (dq_policy.mode != DQ_MODE_EARLIEST_SLOT ||
		    back >= now + (time_t)dq_policy.horizon_hours * 3600)
			return "offline";
	} else if (m->presence == DQ_OFFLINE) {
		return "offline";
	}
	if (dq_member_full(m, dq_member_active(ctx, m,
	    &dq_policy.inactive_statuses), why, sizeof why))
		return why;
	if (dq_policy.working_now) {
		struct dq_hours hours;
		const char *zone;

		if (!dq_pods_hours(pods, m, &hours, &zone))
			return "unknown-tz";
		return dq_hours_absence(&hours, zone, now);
	}
	return NULL;
}

static void
free_judged(struct lh_entry *e)
{
	struct judged *j = lh_entry_v(e);

	free(lh_entry_k(e));
	free(j->why);
	free(j);
}

/* Why member id cannot take this ticket, or NULL: its standing, worked
 * out once, with a ticket's previous owner left out after the reasons
 * that come first. */
static const char *
exclusion(const char *id, const char *previous_owner,
    const struct dq_strlist *rejected, time_t now)
{
	struct lh_entry *e = lh_table_lookup_entry(judgements, id);
	struct judged *j = e ? lh_entry_v(e) : NULL;
	const char *why;

	if (!j) {
		j = xcalloc(1, sizeof *j);
		lh_table_insert(judgements, xstrdup(id), j);
		j->generation = dq_context_generation(ctx) + 1;
	}
	if (j->generation != dq_context_generation(ctx) || j->now != now) {
		free(j->why);
		why = standing(id, now);
		j->why = why ? xstrdup(why) : NULL;
		j->generation = dq_context_generation(ctx);
		j->now = now;
	}
	if (j->why && (!strcmp(j->why, "unknown-member") ||
	    !strcmp(j->why, "archived") || !strcmp(j->why, "offline")))
		return j->why;
	if (previous_owner && !strcmp(previous_owner, id))
		return "previous-owner";
	/* An agent who turned the ticket down is not asked again. */
	if (rejected && dq_strlist_has(rejected, id))
		return "rejected";
	return j->why;
}

/* Adds id to the candidates, or to excluded with why; returns 1 for a
 * candidate. */
static size_t
add_judged(const char *id, const char *why, json_object *cands,
    json_object *excluded)
{
	if (!why) {
		json_object_array_add(cands, json_object_new_string(id));
		return 1;
	}
	dq_exclude(excluded, id, why);
	return 0;
}

/* The members of a pod serving the ticket's company, judged like any
 * pool; the PSA's teams win, so a pod member outside the board's pool is
 * excluded as not-in-team. Returns how many are candidates. */
static size_t
judge_pod(const char *pod, const struct dq_strlist *pool,
    const char *previous_owner, const struct dq_strlist *rejected,
    json_object *cands, json_object *excluded)
{
	const struct dq_strlist *members = dq_pods_members(pods, pod);
	time_t now = dq_now();
	size_t n = 0;

	for (size_t i = 0; i < members->n; i++) {
		const char *id = members->v[i];

		n += add_judged(id, dq_strlist_has(pool, id) ?
		    exclusion(id, previous_owner, rejected, now) : "not-in-team",
		    cands, excluded);
	}
	return n;
}

/* When the pod leaves nobody, its not-in-team entries stay, to explain
 * the fallback; the rest will be judged again as part of the pool. */
static json_object *
keep_not_in_team(json_object *excluded)
{
	json_object *kept = json_object_new_array();

	for (size_t i = 0; i < json_object_array_length(excluded); i++) {
		json_object *group = json_object_array_get_idx(excluded, i);

		if (!strcmp(dq_get_str(group, "why"), "not-in-team"))
			json_object_array_add(kept, json_object_get(group));
	}
	json_object_put(excluded);
	return kept;
}

/* The active count each candidate was judged by, which dq-pick ranks
 * by: one pipeline has one notion of active work (DESIGN §3). */
static json_object *
active_counts(json_object *cands)
{
	json_object *active = json_object_new_object();

	for (size_t i = 0; i < json_object_array_length(cands); i++) {
		const char *id = json_object_get_string(
		    json_object_array_get_idx(cands, i));

		json_object_object_add(active, id, json_object_new_int64(
		    dq_member_active(ctx, dq_member_get(ctx, id),
		    &dq_policy.inactive_statuses)));
	}
	return active;
}

/* Who of pool p could take a ticket of pod (or none), without
 * previous_owner and whoever rejected it. */
static json_object *
judge(const struct pool *p, const char *pod, const char *previous_owner,
    const struct dq_strlist *rejected)
{
	const struct dq_strlist *pool = &p->ids;
	json_object *e = json_object_new_object();
	json_object *cands = json_object_new_array();
	json_object *excluded = json_object_new_array();
	const char *team = p->team, *name = p->name;
	json_object *fallback = NULL;
	time_t now = dq_now();
	char pod_pool[512];

	if (pod && judge_pod(pod, pool, previous_owner, rejected, cands,
	    excluded) > 0) {
		snprintf(pod_pool, sizeof pod_pool, "pod:%s", pod);
		name = pod_pool;
		/* The board's pool, for dq-pick to fall back on when its
		 * rules leave the pod's pool empty (DESIGN §4). */
		fallback = json_object_new_array();
		for (size_t i = 0; i < pool->n; i++)
			if (!exclusion(pool->v[i], previous_owner, rejected,
			    now))
				json_object_array_add(fallback,
				    json_object_new_string(pool->v[i]));
	} else {
		if (pod) {
			excluded = keep_not_in_team(excluded);
			name = "pod-fallback";
		}
		for (size_t i = 0; i < pool->n; i++)
			add_judged(pool->v[i], exclusion(pool->v[i], previous_owner,
			    rejected, now), cands, excluded);
	}
	json_object_object_add(e, "team", team ? json_object_new_string(team) : NULL);
	json_object_object_add(e, "pool", json_object_new_string(name));
	json_object_object_add(e, "candidates", cands);
	json_object_object_add(e, "active", active_counts(fallback ?
	    fallback : cands));
	json_object_object_add(e, "excluded", excluded);
	if (fallback)
		json_object_object_add(e, "fallback", fallback);
	return e;
}

/* Most tickets of a pool share one judgement: it is worked out and
 * serialised once, and again only when the context or the clock moves. */
static void
write_pool_judgement(struct dq_input *in, struct pool *p)
{
	time_t now = dq_now();

	if (!p->judged || p->judged_generation != dq_context_generation(ctx) ||
	    p->judged_now != now) {
		json_object *e = judge(p, NULL, NULL, NULL);

		free(p->judged);
		p->judged = xstrdup(dq_json_string(e));
		p->judged_len = strlen(p->judged);
		p->judged_generation = dq_context_generation(ctx);
		p->judged_now = now;
		json_object_put(e);
	}
	dq_write_annotated_json(in, "eligible", p->judged, p->judged_len);
}

static void
ticket(struct dq_input *in, void *arg)
{
	json_object *watch = dq_get(in->rec, "watch");
	bool cleared = dq_get_bool(watch, "clear", false);
	const char *reason, *pod, *previous_owner;
	struct dq_holding h;
	struct pool *p;

	dq_need_str(in->rec, "ticket", "id");
	meet_ticket(in->rec);
	if (pods)	/* the context has arrived: match the file's names */
		dq_pods_resolve(pods, ctx, true);
	if ((reason = skip_reason(in->rec, cleared))) {
		if (!dq_policy.drop)
			dq_write_annotated(in, "dispatch", skipped(reason));
		return;
	}
	p = find_pool(in->rec);
	pod = dq_pods_of_company(pods, dq_get_str(in->rec, "company"));
	previous_owner = cleared ? dq_get_str(watch, "previous_owner") : NULL;
	dq_holding(holdings, dq_get_str(in->rec, "id"), &h);
	if (pod || previous_owner || (h.rejected && h.rejected->n))
		dq_write_annotated(in, "eligible",
		    judge(p, pod, previous_owner, h.rejected));
	else
		write_pool_judgement(in, p);
}

int
main(int argc, char *argv[])
{
	int first = dq_policy_load(argc, argv, DQ_ELIGIBLE, "[options] [file ...]",
	    "Marks the tickets that trigger dispatch and who could take each.");

	if (dq_policy.once && !dq_policy.journals.n)
		dq_usage("--once needs --journal");
	if (!dq_policy.retry && !dq_policy.journals.n)
		dq_usage("--no-retry needs --journal");
	if (dq_policy.journals.n)
		holdings = dq_holdings_read(&dq_policy.journals);
	if (dq_policy.pods_file)
		pods = dq_pods_load(dq_policy.pods_file);
	ctx = dq_context_new();
	pools = lh_kchar_table_new(64, free_pool);
	judgements = lh_kchar_table_new(512, free_judged);
	dq_stage_stream(argc - first, argv + first, ctx, ticket);
	warn_unmet();
	lh_table_free(judgements);
	lh_table_free(pools);
	dq_context_free(ctx);
	dq_pods_free(pods);
	dq_holdings_free(holdings);
	return dq_close_stdout(0);
}
