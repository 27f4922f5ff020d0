/* dq-pick: the mode's choice among each ticket's eligible candidates. */
#include <config.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dq.h"

static struct dq_context *ctx;
static const char *config;
static struct dq_rules *rules;
static struct dq_pods *pods;
static bool seen_ticket;

struct cand {
	struct dq_member *m;
	long score;		/* matches (higher first) or active count */
	long active;
	long history;		/* thousandths */
	struct dq_evidence evidence;	/* what earned history */
	struct dq_span slot;	/* earliest slot */
	long density;		/* thousandths */
};

/* What the comparators need of the ticket being decided. */
static enum dq_mode sort_mode;

static int
cand_cmp(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	switch (sort_mode) {
	case DQ_MODE_PRIORITY_MATCH:
	case DQ_MODE_CAPABILITY_MATCH:
		if (x->score != y->score)
			return x->score > y->score ? -1 : 1;
		break;
	case DQ_MODE_LEAST_ACTIVE:
		if (x->score != y->score)
			return x->score < y->score ? -1 : 1;
		if (x->history != y->history)
			return x->history > y->history ? -1 : 1;
		break;
	case DQ_MODE_EARLIEST_SLOT:
		if (x->slot.start != y->slot.start)
			return x->slot.start < y->slot.start ? -1 : 1;
		if (x->density != y->density)
			return x->density < y->density ? -1 : 1;
		if (x->history != y->history)
			return x->history > y->history ? -1 : 1;
		break;
	default:
		break;
	}
	return dq_member_rr_cmp(x->m, y->m);
}

static bool
has_capability(const struct dq_member *m, const char *cap)
{
	json_object *caps = dq_get(m->rec, "capabilities");

	for (size_t i = 0; caps && i < json_object_array_length(caps); i++)
		if (!strcasecmp(json_object_get_string(
		    json_object_array_get_idx(caps, i)), cap))
			return true;
	return false;
}

/* Distinct labels of the ticket. */
static void
ticket_labels(json_object *ticket, struct dq_strlist *out)
{
	json_object *labels = dq_get(ticket, "labels");

	if (labels && !json_object_is_type(labels, json_type_array))
		dq_die_data("ticket %s: \"labels\" must be a list of strings",
		    dq_get_str(ticket, "id"));
	for (size_t i = 0; labels && i < json_object_array_length(labels); i++) {
		json_object *l = json_object_array_get_idx(labels, i);

		if (!json_object_is_type(l, json_type_string))
			dq_die_data("ticket %s: \"labels\" must be a list of strings",
			    dq_get_str(ticket, "id"));
		if (!dq_strlist_has_icase(out, json_object_get_string(l)))
			dq_strlist_add(out, json_object_get_string(l));
	}
}

/* The history score, and the closed tickets that earned it (DESIGN §3). */
static void
add_history(json_object *o, const struct cand *c)
{
	json_object *ids = json_object_new_array();

	for (size_t i = 0; i < c->evidence.n; i++)
		json_object_array_add(ids, json_object_new_string(
		    c->evidence.ticket[i]));
	json_object_object_add(o, "history", dq_json_milli(c->history));
	json_object_object_add(o, "evidence", ids);
}

static json_object *
candidate_json(const struct cand *c, enum dq_mode mode)
{
	json_object *o = json_object_new_object();
	char buf[DQ_TIMEBUF];

	json_object_object_add(o, "id", json_object_new_string(c->m->id));
	if (mode == DQ_MODE_ROUND_ROBIN) {
		/* Round robin's measure is when each was last given work. */
		time_t t;
		bool has = dq_member_last_given(c->m, &t);

		json_object_object_add(o, "score", has ?
		    json_object_new_string(dq_time_format(t, buf)) : NULL);
		json_object_object_add(o, "active", json_object_new_int64(c->active));
		return o;
	}
	if (mode == DQ_MODE_EARLIEST_SLOT) {
		json_object *slot = json_object_new_object();

		json_object_object_add(o, "score", json_object_new_string(
		    dq_time_format(c->slot.start, buf)));
		json_object_object_add(o, "active", json_object_new_int64(c->active));
		json_object_object_add(slot, "start", json_object_new_string(
		    dq_time_format(c->slot.start, buf)));
		json_object_object_add(slot, "end", json_object_new_string(
		    dq_time_format(c->slot.end, buf)));
		json_object_object_add(o, "slot", slot);
		json_object_object_add(o, "density", dq_json_milli(c->density));
		add_history(o, c);
		return o;
	}
	json_object_object_add(o, "score", json_object_new_int64(c->score));
	json_object_object_add(o, "active", json_object_new_int64(c->active));
	if (mode == DQ_MODE_LEAST_ACTIVE)
		add_history(o, c);
	return o;
}

/* How many of n ranked candidates a decision lists (--candidates). */
static size_t
listed(size_t n)
{
	size_t top = (size_t)dq_policy.candidates;

	return top == 0 || n < top ? n : top;
}

static json_object *
decision(enum dq_mode mode, const char *outcome, json_object *candidates,
    size_t ranked, json_object *excluded, const char *chosen, const char *team,
    const char *reason)
{
	json_object *d = json_object_new_object();

	json_object_object_add(d, "mode", json_object_new_string(dq_mode_name(mode)));
	json_object_object_add(d, "outcome", json_object_new_string(outcome));
	json_object_object_add(d, "candidates",
	    candidates ? candidates : json_object_new_array());
	json_object_object_add(d, "ranked", json_object_new_int64((int64_t)ranked));
	json_object_object_add(d, "excluded",
	    excluded ? excluded : json_object_new_array());
	json_object_object_add(d, "chosen",
	    chosen ? json_object_new_string(chosen) : NULL);
	json_object_object_add(d, "team", team ? json_object_new_string(team) : NULL);
	json_object_object_add(d, "reason", json_object_new_string(reason));
	json_object_object_add(d, "config", json_object_new_string(config));
	return d;
}

/* For a board-wide pool, the team is the chosen member's first team on
 * the ticket's board: by the member's own list, among teams that list
 * the member (team membership is authoritative). */
static const char *
member_team(struct dq_member *m, const char *board)
{
	json_object *teams = dq_get(m->rec, "teams");
	struct dq_team *t, **all;
	const char *id = NULL;
	size_t n;

	for (size_t i = 0; teams && i < json_object_array_length(teams); i++) {
		t = dq_team_get(ctx, json_object_get_string(
		    json_object_array_get_idx(teams, i)));
		if (t && dq_team_serves(t, board) && dq_team_has_member(t, m->id))
			return t->id;
	}
	n = dq_board_teams(ctx, board, &all);
	for (size_t i = 0; i < n && !id; i++)
		if (dq_team_has_member(all[i], m->id))
			id = all[i]->id;
	free(all);
	return id;
}

static void
lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* Scores the candidates for the mode, sorts them best first, and writes
 * the reason the best one wins into reason. */
static void
rank(json_object *ticket, enum dq_mode mode, struct cand *c, size_t n,
    char *reason, size_t reasonlen)
{
	struct dq_strlist labels = { 0 };
	char *priority = NULL, when[DQ_TIMEBUF];
	long best = 0;

	if (mode == DQ_MODE_PRIORITY_MATCH && dq_get_str(ticket, "priority")) {
		priority = xstrdup(dq_get_str(ticket, "priority"));
		lower(priority);
	}
	if (mode == DQ_MODE_CAPABILITY_MATCH)
		ticket_labels(ticket, &labels);
	for (size_t i = 0; i < n; i++) {
		if (mode == DQ_MODE_PRIORITY_MATCH)
			c[i].score = priority && has_capability(c[i].m, priority);
		else if (mode == DQ_MODE_CAPABILITY_MATCH)
			for (size_t j = 0; j < labels.n; j++)
				c[i].score += has_capability(c[i].m, labels.v[j]);
		else if (mode == DQ_MODE_LEAST_ACTIVE) {
			c[i].score = c[i].active;
			c[i].history = dq_history_score(ctx, ticket, c[i].m->id,
			    dq_now(), &c[i].evidence);
		} else if (mode == DQ_MODE_EARLIEST_SLOT)
			c[i].history = dq_history_score(ctx, ticket, c[i].m->id,
			    dq_now(), &c[i].evidence);
		if (c[i].score > best)
			best = c[i].score;
	}
	sort_mode = mode;
	qsort(c, n, sizeof *c, cand_cmp);
	if (mode == DQ_MODE_PRIORITY_MATCH && best > 0)
		snprintf(reason, reasonlen, "priority-match:%s", priority);
	else if (mode == DQ_MODE_CAPABILITY_MATCH && best > 0)
		snprintf(reason, reasonlen, "capability-match:%ld/%zu", best, labels.n);
	else if (mode == DQ_MODE_LEAST_ACTIVE)
		snprintf(reason, reasonlen, "least-active:%ld", c[0].active);
	else if (mode == DQ_MODE_EARLIEST_SLOT)
		snprintf(reason, reasonlen, "earliest-slot:%s",
		    dq_time_format(c[0].slot.start, when));
	else	/* round robin, or a match mode that matched nobody */
		snprintf(reason, reasonlen, "round-robin");
	free(priority);
	dq_strlist_clear(&labels);
}

/* The candidate's earliest slot and calendar density, or why it has no
 * slot. */
static const char *
find_slot(struct cand *c)
{
	struct dq_calendar *cal;
	struct dq_hours hours;
	const char *zone;

	if (!dq_pods_hours(pods, c->m, &hours, &zone))
		return "unknown-tz";
	cal = dq_member_calendar(ctx, c->m->id);
	if (!dq_calendar_slot(cal, &hours, zone, 0, &c->slot))
		return "no-slot";
	c->density = dq_calendar_density(cal, &hours, zone);
	return NULL;
}

/* m's active count: the one dq-eligible judged m by, plus what this run
 * has handed out. A stream whose eligible carries no count for m (one made
 * by hand or by another tool) is counted here, by --inactive-status. */
static long
active_count(json_object *eligible, struct dq_member *m)
{
	json_object *n = dq_get(dq_get(eligible, "active"), m->id);

	if (!n)
		return dq_member_active(ctx, m, &dq_policy.inactive_statuses);
	if (!json_object_is_type(n, json_type_int) || json_object_get_int64(n) < 0)
		dq_die_data("eligible: \"active\" of %s must be a whole number",
		    m->id);
	return (long)json_object_get_int64(n) + m->run_assigned;
}

/* Capacity again, with what this run has handed out: whether m is full,
 * with why; *active gets m's active count. */
static bool
at_capacity(json_object *eligible, struct dq_member *m, long *active,
    char *why, size_t whylen)
{
	*active = active_count(eligible, m);
	return dq_member_full(m, *active, why, whylen);
}

/* Whether an exclude or prefer rule keeps m among the candidates. */
static bool
rule_keeps(const struct dq_rule *r, const struct dq_member *m)
{
	const struct dq_strlist *members;

	switch (r->action) {
	case DQ_EXCLUDE:
		for (size_t i = 0; i < r->nargs; i++)
			if (!strcmp(r->args[i].s, m->id))
				return false;
		return true;
	case DQ_PREFER_POD:
		members = dq_pods_members(pods, r->args[0].s);
		return members && dq_strlist_has(members, m->id);
	case DQ_PREFER_CAPABILITY:
		return has_capability(m, r->args[0].s);
	default:
		return true;
	}
}

/* Narrows the candidates by the ticket's rule, listing whom it removes
 * in excluded. A prefer that would leave nobody narrows nothing and sets
 * *missed: the mode then picks among all. Returns the new count. */
static size_t
narrow(const struct dq_rule *r, struct cand *c, size_t n,
    json_object *excluded, bool *missed)
{
	size_t kept = 0, k = 0;
	char why[256];

	if (!r || (r->action != DQ_EXCLUDE && r->action != DQ_PREFER_POD &&
	    r->action != DQ_PREFER_CAPABILITY))
		return n;
	for (size_t i = 0; i < n; i++)
		kept += rule_keeps(r, c[i].m);
	if (kept == 0 && r->action != DQ_EXCLUDE) {
		*missed = true;
		return n;
	}
	snprintf(why, sizeof why, "rule:%s:%s", r->id,
	    r->action == DQ_EXCLUDE ? "exclude" : "prefer");
	for (size_t i = 0; i < n; i++) {
		if (rule_keeps(r, c[i].m))
			c[k++] = c[i];
		else
			dq_exclude(excluded, c[i].m->id, why);
	}
	return k;
}

/* The candidates of ids that this run has not filled up (and, for
 * EARLIEST_SLOT, that have a slot) into c; the others into excluded.
 * Returns how many. */
static size_t
gather(json_object *eligible, json_object *ids, enum dq_mode mode,
    struct cand *c, json_object *excluded)
{
	size_t n = 0;

	for (size_t i = 0; i < json_object_array_length(ids); i++) {
		const char *id = json_object_get_string(json_object_array_get_idx(ids, i));
		struct dq_member *m = dq_member_get(ctx, id);
		long active;
		char why[64];
		const char *no_slot;

		if (!m) {
			dq_exclude(excluded, id, "unknown-member");
			continue;
		}
		if (at_capacity(eligible, m, &active, why, sizeof why)) {
			dq_exclude(excluded, id, why);
			continue;
		}
		memset(&c[n], 0, sizeof c[n]);
		c[n].m = m;
		c[n].active = active;
		if (mode == DQ_MODE_EARLIEST_SLOT && (no_slot = find_slot(&c[n]))) {
			dq_exclude(excluded, id, no_slot);
			continue;
		}
		n++;
	}
	return n;
}

static json_object *
string_list(json_object *eligible, const char *key, json_object *ticket)
{
	json_object *ids = dq_get(eligible, key);

	if (!ids || !json_object_is_type(ids, json_type_array))
		return NULL;
	for (size_t i = 0; i < json_object_array_length(ids); i++)
		if (!json_object_is_type(json_object_array_get_idx(ids, i),
		    json_type_string))
			dq_die_data("ticket %s: eligible \"%s\" must be a list of "
			    "member ids", dq_get_str(ticket, "id"), key);
	return ids;
}

static json_object *
pick(json_object *ticket, enum dq_mode mode, const struct dq_rule *rule,
    bool *missed)
{
	json_object *eligible = dq_get(ticket, "eligible");
	json_object *ids = string_list(eligible, "candidates", ticket);
	json_object *fallback = string_list(eligible, "fallback", ticket);
	const char *team = dq_get_str(eligible, "team");
	const char *pool = dq_get_str(eligible, "pool");
	json_object *excluded = json_object_new_array(), *candidates, *d;
	bool fell_back = false;
	struct cand *c;
	size_t n;
	char reason[256];

	if (!ids)
		dq_die_data("ticket %s has no \"eligible\" candidates: run "
		    "dq-eligible before dq-pick", dq_get_str(ticket, "id"));
	c = xcalloc(json_object_array_length(ids) +
	    (fallback ? json_object_array_length(fallback) : 0), sizeof *c);
	n = narrow(rule, c, gather(eligible, ids, mode, c, excluded), excluded,
	    missed);
	/* A rule never strands a pod's ticket: when it leaves the pod's pool
	 * empty, the board's pool is used (DESIGN §4). */
	if (n == 0 && rule && fallback && pool && !strncmp(pool, "pod:", 4)) {
		json_object_put(excluded);
		excluded = json_object_new_array();
		n = narrow(rule, c, gather(eligible, fallback, mode, c, excluded),
		    excluded, missed);
		fell_back = true;
	}
	if (n == 0) {
		free(c);
		d = decision(mode, "unassigned", NULL, 0, excluded, NULL, team,
		    "no-eligible-candidate");
	} else {
		rank(ticket, mode, c, n, reason, sizeof reason);
		candidates = json_object_new_array();
		for (size_t i = 0; i < listed(n); i++)
			json_object_array_add(candidates, candidate_json(&c[i], mode));
		if (!team)
			team = member_team(c[0].m, dq_get_str(ticket, "board"));
		dq_member_dispatched(ctx, c[0].m, dq_get_str(ticket, "id"));
		d = decision(mode, "assigned", candidates, n, excluded,
		    c[0].m->id, team, reason);
		free(c);
	}
	if (fell_back)
		json_object_object_add(d, "pool", json_object_new_string("pod-fallback"));
	return d;
}

/* DEFAULT_TEAM: the board's default team, unless triage already set a
 * team, which the ticket keeps (DESIGN §3). */
static json_object *
default_team(json_object *ticket)
{
	struct dq_team *t = dq_default_team(ctx, dq_get_str(ticket, "board"));
	const char *kept = dq_get_str(ticket, "team");

	if (kept)
		return decision(DQ_MODE_DEFAULT_TEAM, "team", NULL, 0, NULL, NULL,
		    kept, "default-team:kept");
	if (!t)
		return decision(DQ_MODE_DEFAULT_TEAM, "unassigned", NULL, 0, NULL,
		    NULL, NULL, "no-eligible-candidate");
	return decision(DQ_MODE_DEFAULT_TEAM, "team", NULL, 0, NULL, NULL, t->id,
	    "default-team");
}

static json_object *
by_mode(json_object *ticket, enum dq_mode mode, const struct dq_rule *rule,
    bool *missed)
{
	switch (mode) {
	case DQ_MODE_MANUAL:
		return decision(mode, "manual", NULL, 0, NULL, NULL,
		    dq_get_str(dq_get(ticket, "eligible"), "team"), "manual");
	case DQ_MODE_DEFAULT_TEAM:
		return default_team(ticket);
	default:
		return pick(ticket, mode, rule, missed);
	}
}

/* An assign rule's member, when dq-eligible found them eligible and this
 * run has not filled them up; else NULL, and the mode decides. */
static json_object *
rule_assign(json_object *ticket, const struct dq_rule *r, enum dq_mode mode,
    const char *reason)
{
	json_object *eligible = dq_get(ticket, "eligible");
	json_object *ids = dq_get(eligible, "candidates"), *candidates;
	struct dq_member *m = dq_member_get(ctx, r->args[0].s);
	const char *team = dq_get_str(eligible, "team");
	bool in_pool = false;
	long active;
	char why[64];

	for (size_t i = 0; json_object_is_type(ids, json_type_array) &&
	    i < json_object_array_length(ids); i++)
		in_pool = in_pool || !strcmp(r->args[0].s,
		    json_object_get_string(json_object_array_get_idx(ids, i)));
	if (!in_pool || !m || at_capacity(eligible, m, &active, why, sizeof why))
		return NULL;
	candidates = json_object_new_array();
	for (size_t i = 0; i < listed(json_object_array_length(ids)); i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "id",
		    json_object_get(json_object_array_get_idx(ids, i)));
		json_object_array_add(candidates, o);
	}
	if (!team)
		team = member_team(m, dq_get_str(ticket, "board"));
	dq_member_dispatched(ctx, m, dq_get_str(ticket, "id"));
	return decision(mode, "assigned", candidates,
	    json_object_array_length(ids), NULL, m->id, team, reason);
}

/* A team rule's team, by id or else by name, among the teams of the
 * ticket's board; NULL when it does not serve the board. */
static json_object *
rule_team(json_object *ticket, const struct dq_rule *r, enum dq_mode mode,
    const char *reason)
{
	struct dq_team **teams, *t = NULL;
	size_t n = dq_board_teams(ctx, dq_get_str(ticket, "board"), &teams);

	for (size_t i = 0; i < n && !t; i++)
		if (!strcmp(teams[i]->id, r->args[0].s))
			t = teams[i];
	for (size_t i = 0; i < n && !t; i++)
		if (teams[i]->name && !strcmp(teams[i]->name, r->args[0].s))
			t = teams[i];
	free(teams);
	return t ? decision(mode, "team", NULL, 0, NULL, NULL, t->id, reason) : NULL;
}

/* The decision of an assign, team or hold rule; NULL for the other
 * actions, and when the rule's target cannot take the ticket. */
static json_object *
by_rule(json_object *ticket, const struct dq_rule *r, enum dq_mode mode)
{
	static const char *const verbs[] = {
		[DQ_ASSIGN] = "assign", [DQ_TEAM] = "team", [DQ_HOLD] = "hold",
	};
	char reason[512];
	json_object *d;

	if (r->action != DQ_ASSIGN && r->action != DQ_TEAM &&
	    r->action != DQ_HOLD)
		return NULL;
	snprintf(reason, sizeof reason, "rule:%s:%s", r->id, verbs[r->action]);
	if (r->action == DQ_ASSIGN)
		return rule_assign(ticket, r, mode, reason);
	if (r->action == DQ_TEAM)
		return rule_team(ticket, r, mode, reason);
	d = decision(mode, "held", NULL, 0, NULL, NULL,
	    dq_get_str(dq_get(ticket, "eligible"), "team"), reason);
	json_object_object_add(d, "note", json_object_new_string(r->args[0].s));
	return d;
}

/* Puts the rule that shaped the mode's decision into its reason. */
static void
rule_reason(json_object *d, const struct dq_rule *r, enum dq_mode mode,
    bool missed)
{
	char reason[1024];

	if (missed || r->action == DQ_ASSIGN || r->action == DQ_TEAM)
		snprintf(reason, sizeof reason, "rule:%s:target-ineligible,%s pick",
		    r->id, dq_mode_slug(mode));
	else
		snprintf(reason, sizeof reason, "rule:%s:%s,%s", r->id,
		    r->action == DQ_EXCLUDE ? "exclude" :
		    r->action == DQ_SET_MODE ? "mode" : "prefer",
		    dq_get_str(d, "reason"));
	json_object_object_add(d, "reason", json_object_new_string(reason));
}

static void
ticket(struct dq_input *in, void *arg)
{
	enum dq_mode mode = dq_policy.mode;
	struct dq_booking booking;
	const struct dq_rule *r;
	bool missed = false;
	json_object *d;

	/* A ticket that came before is decided again, as if it had not. */
	dq_ticket_arrives(ctx, dq_need_str(in->rec, "ticket", "id"), in->lineno);
	/* Whatever decided a ticket, dq-schedule will book it: so does the
	 * calendar here, for the EARLIEST_SLOT decisions after it. */
	if (dq_get(in->rec, "dispatch")) {	/* skipped, or decided before */
		dq_write_input(in);
		dq_book_ticket(ctx, pods, in->rec, false, &booking);
		return;
	}
	seen_ticket = true;
	if (pods)	/* the context has arrived: match the file's names */
		dq_pods_resolve(pods, ctx, false);
	/* The rules come first; the mode decides what they leave open. */
	r = dq_rules_match(rules, ctx, in->rec, dq_policy.rules_tz);
	if (r && r->action == DQ_SET_MODE)
		mode = r->mode;
	if (!r || !(d = by_rule(in->rec, r, mode))) {
		d = by_mode(in->rec, mode, r, &missed);
		if (r)
			rule_reason(d, r, mode, missed);
	}
	dq_write_annotated(in, "dispatch", d);
	dq_book_ticket(ctx, pods, in->rec, false, &booking);
}

int
main(int argc, char *argv[])
{
	int first = dq_policy_load(argc, argv, DQ_PICK, "[options] [file ...]",
	    "Picks who gets each eligible ticket, by the mode and its tie-breaks.");

	if (dq_policy.rules_file)
		rules = dq_rules_load(dq_policy.rules_file);
	if (dq_policy.pods_file)
		pods = dq_pods_load(dq_policy.pods_file);
	if (rules)
		dq_rules_check_pods(rules, pods);
	config = dq_config_digest(DQ_PICK, rules, pods);
	ctx = dq_context_new();
	if (dq_policy.journals.n)
		dq_context_journal(ctx, &dq_policy.journals);
	dq_stage_stream(argc - first, argv + first, ctx, ticket);
	/* Only a stream that carried tickets says what its context lacks. */
	if (rules && seen_ticket)
		dq_rules_check_context(rules, ctx);
	dq_context_free(ctx);
	dq_rules_free(rules);
	dq_pods_free(pods);
	return dq_close_stdout(0);
}
