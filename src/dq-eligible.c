/* dq-eligible: which tickets trigger dispatch, and who could take each. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "dq.h"

static struct dq_context *ctx;
static struct dq_pods *pods;
static json_object *dispatched;	/* --once: tickets the journal settled */
static json_object *assigned;	/* agents' tickets the journal assigned */

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

	if (!dq_policy.auto_dispatch)
		return "auto-dispatch-off";
	if (!cleared && dq_policy.boards.n && !(board &&
	    dq_strlist_has(&dq_policy.boards, board)))
		return "board";
	if (!cleared && dq_policy.trigger_statuses.n && !(status &&
	    dq_strlist_has(&dq_policy.trigger_statuses, status)))
		return "status";
	if (dq_policy.companies.n && !(company &&
	    dq_strlist_has(&dq_policy.companies, company))) {
		snprintf(reason, sizeof reason, "company-not-included:%s",
		    company ? company : "");
		return reason;
	}
	if (company && dq_strlist_has(&dq_policy.exclude_companies, company)) {
		snprintf(reason, sizeof reason, "company-excluded:%s", company);
		return reason;
	}
	if (!cleared && (dq_get(ticket, "owner") || (assigned &&
	    json_object_object_get_ex(assigned, dq_get_str(ticket, "id"), NULL))))
		return "already-owned";
	/* Clearing a ticket is what dispatches it again. */
	if (dispatched && !cleared && json_object_object_get_ex(dispatched,
	    dq_get_str(ticket, "id"), NULL))
		return "already-dispatched";
	return NULL;
}

static void
add_members(struct dq_strlist *pool, const struct dq_team *t)
{
	for (size_t i = 0; t->members && i < json_object_array_length(t->members); i++) {
		const char *id = json_object_get_string(
		    json_object_array_get_idx(t->members, i));

		if (!dq_strlist_has(pool, id))
			dq_strlist_add(pool, id);
	}
}

/* The pool of DESIGN §3: the ticket's team, else the board's default
 * team, else every team on the board. Returns the pool's name. */
static const char *
find_pool(json_object *ticket, struct dq_strlist *pool, const char **team)
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

/* Why member id cannot take work now, or NULL. */
static const char *
exclusion(const char *id, const char *previous_owner, time_t now)
{
	static char why[64];
	struct dq_member *m = dq_member_get(ctx, id);
	long limit, active;

	if (!m)
		return "unknown-member";
	if (m->archived)
		return "archived";
	if (m->presence == DQ_OFFLINE)
		return "offline";
	if (previous_owner && !strcmp(previous_owner, id))
		return "previous-owner";
	limit = dq_member_limit(m);
	active = dq_member_active(ctx, m, &dq_policy.inactive_statuses);
	if (limit > 0 && active >= limit) {
		snprintf(why, sizeof why, "at-capacity:%ld/%ld", active, limit);
		return why;
	}
	if (dq_policy.working_now) {
		struct dq_hours hours;
		const char *zone;

		if (!dq_pods_hours(pods, m, &hours, &zone))
			return "unknown-tz";
		return dq_hours_absence(&hours, zone, now);
	}
	return NULL;
}

/* Adds id to the candidates, or to excluded with why; returns 1 for a
 * candidate. */
static size_t
add_judged(const char *id, const char *why, json_object *cands,
    json_object *excluded)
{
	json_object *x;

	if (!why) {
		json_object_array_add(cands, json_object_new_string(id));
		return 1;
	}
	x = json_object_new_object();
	json_object_object_add(x, "id", json_object_new_string(id));
	json_object_object_add(x, "why", json_object_new_string(why));
	json_object_array_add(excluded, x);
	return 0;
}

/* The members of a pod serving the ticket's company, judged like any
 * pool; the PSA's teams win, so a pod member outside the board's pool is
 * excluded as not-in-team. Returns how many are candidates. */
static size_t
judge_pod(const char *pod, const struct dq_strlist *pool,
    const char *previous_owner, json_object *cands, json_object *excluded)
{
	const struct dq_strlist *members = dq_pods_members(pods, pod);
	time_t now = dq_now();
	size_t n = 0;

	for (size_t i = 0; i < members->n; i++) {
		const char *id = members->v[i];

		n += add_judged(id, dq_strlist_has(pool, id) ?
		    exclusion(id, previous_owner, now) : "not-in-team",
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
		json_object *x = json_object_array_get_idx(excluded, i);

		if (!strcmp(dq_get_str(x, "why"), "not-in-team"))
			json_object_array_add(kept, json_object_get(x));
	}
	json_object_put(excluded);
	return kept;
}

static json_object *
judge(json_object *ticket, const char *previous_owner)
{
	struct dq_strlist pool = { 0 };
	json_object *e = json_object_new_object();
	json_object *cands = json_object_new_array();
	json_object *excluded = json_object_new_array();
	const char *team, *name = find_pool(ticket, &pool, &team);
	const char *pod = dq_pods_of_company(pods, dq_get_str(ticket, "company"));
	time_t now = dq_now();
	char pod_pool[512];

	if (pool.n > 1)		/* v is NULL when the pool is empty */
		qsort(pool.v, pool.n, sizeof *pool.v, dq_strcmp_ptr);
	if (pod && judge_pod(pod, &pool, previous_owner, cands, excluded) > 0) {
		snprintf(pod_pool, sizeof pod_pool, "pod:%s", pod);
		name = pod_pool;
	} else {
		if (pod) {
			excluded = keep_not_in_team(excluded);
			name = "pod-fallback";
		}
		for (size_t i = 0; i < pool.n; i++)
			add_judged(pool.v[i], exclusion(pool.v[i], previous_owner,
			    now), cands, excluded);
	}
	json_object_object_add(e, "team", team ? json_object_new_string(team) : NULL);
	json_object_object_add(e, "pool", json_object_new_string(name));
	json_object_object_add(e, "candidates", cands);
	json_object_object_add(e, "excluded", excluded);
	dq_strlist_clear(&pool);
	return e;
}

static void
ticket(struct dq_input *in, void *arg)
{
	json_object *watch = dq_get(in->rec, "watch");
	bool cleared = dq_get_bool(watch, "clear", false);
	const char *reason;

	if (!dq_get_str(in->rec, "id") || !*dq_get_str(in->rec, "id"))
		dq_die_data("ticket: \"id\" must be a non-empty string");
	if (pods)	/* the context has arrived: match the file's names */
		dq_pods_resolve(pods, ctx, true);
	if ((reason = skip_reason(in->rec, cleared))) {
		if (!dq_policy.drop)
			dq_write_annotated(in, "dispatch", skipped(reason));
		return;
	}
	dq_write_annotated(in, "eligible", judge(in->rec,
	    cleared ? dq_get_str(watch, "previous_owner") : NULL));
}

int
main(int argc, char *argv[])
{
	int first = dq_policy_load(argc, argv, DQ_ELIGIBLE, "[options] [file ...]",
	    "Marks the tickets that trigger dispatch and who could take each.");

	if (dq_policy.once && !dq_policy.journals.n)
		dq_die(DQ_EXIT_USAGE, "--once needs --journal");
	if (dq_policy.journals.n) {
		if (dq_policy.once)
			dispatched = json_object_new_object();
		assigned = json_object_new_object();
		dq_journal_tickets(&dq_policy.journals, dispatched, assigned);
	}
	if (dq_policy.pods_file)
		pods = dq_pods_load(dq_policy.pods_file);
	ctx = dq_context_new();
	dq_stage_stream(argc - first, argv + first, ctx, ticket);
	dq_context_free(ctx);
	dq_pods_free(pods);
	json_object_put(dispatched);
	json_object_put(assigned);
	return dq_close_stdout(0);
}
