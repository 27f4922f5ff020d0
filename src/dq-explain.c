/* dq-explain: one ticket's decision told in words, from the stream the
 * stages wrote and from the journal, so that "why didn't X get this one?"
 * is answered by reading rather than by jq. */
#include <config.h>

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dq.h"

#define WIDTH 72

static const char *wanted;	/* the ticket asked about */
static json_object *members;	/* member id -> name, from member records */
static json_object *found;	/* the last record of the ticket in the stream */
static json_object *intent, *outcome;	/* its last committed journal lines */

/* Prints a paragraph wrapped at WIDTH: the first line indented by
 * indent, the rest by indent + 2, so a long item reads as one. */
static void say(int, const char *, ...) __attribute__((format(printf, 2, 3)));

static void
say(int indent, const char *fmt, ...)
{
	va_list ap;
	char *text, *p;
	int col = 0, lead = indent;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		dq_out_of_memory();
	va_end(ap);
	for (p = text; *p; ) {
		size_t word = strcspn(p, " ");

		if (col > lead && col + 1 + (int)word > WIDTH) {
			putchar('\n');
			col = 0;
			lead = indent + 2;
		}
		if (col == 0)
			col = printf("%*s", lead, "");
		else
			col += printf(" ");
		col += printf("%.*s", (int)word, p);
		p += word;
		p += strspn(p, " ");
	}
	putchar('\n');
	free(text);
}

/* "Ravi Patel (rpatel)" when a member record names them, else the id. */
static const char *
who(const char *id)
{
	static char buf[2][256];
	static int which;
	const char *name = dq_get_str(members, id);

	if (!id)
		return "nobody";
	which = !which;
	if (name && strcmp(name, id))
		snprintf(buf[which], sizeof buf[which], "%s (%s)", name, id);
	else
		snprintf(buf[which], sizeof buf[which], "%s", id);
	return buf[which];
}

static void
say_reason(int indent, const char *lead, const char *reason)
{
	char *words = dq_reason_words(reason);

	say(indent, "%s%s.", lead, words);
	free(words);
}

/* Calls fn for each id of an "excluded" list, whichever form it has:
 * grouped ({"why", "ids"}) or one entry a member ({"id", "why"}). */
typedef void (*excluded_fn)(const char *id, const char *why, void *arg);

static void
each_excluded(json_object *list, excluded_fn fn, void *arg)
{
	size_t n = json_object_is_type(list, json_type_array) ?
	    json_object_array_length(list) : 0;

	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(list, i);
		json_object *ids = dq_get(e, "ids");
		const char *why = dq_get_str(e, "why");

		if (json_object_is_type(ids, json_type_array)) {
			for (size_t j = 0; j < json_object_array_length(ids); j++)
				fn(json_object_get_string(
				    json_object_array_get_idx(ids, j)), why, arg);
		} else if (dq_get_str(e, "id")) {
			fn(dq_get_str(e, "id"), why, arg);
		}
	}
}

static void
print_excluded(const char *id, const char *why, void *arg)
{
	char *words = dq_reason_words(why);

	(void)arg;
	say(2, "%s: %s.", who(id), words);
	free(words);
}

static size_t
length(json_object *list)
{
	return json_object_is_type(list, json_type_array) ?
	    json_object_array_length(list) : 0;
}

static void
tell_candidate(size_t rank, json_object *c)
{
	struct dq_buf b = { 0 };
	json_object *v, *evidence = dq_get(c, "evidence");
	json_object *slot = dq_get(c, "slot");
	static const char *const measures[] = { "score", "active", "history",
		"density" };
	char *line;

	dq_buf_printf(&b, "%zu. %s:", rank, who(dq_get_str(c, "id")));
	for (size_t i = 0; i < sizeof measures / sizeof measures[0]; i++)
		if ((v = dq_get(c, measures[i])))
			dq_buf_printf(&b, "%s %s %s", i ? "," : "",
			    measures[i], dq_json_string(v));
	if (length(evidence)) {
		dq_buf_printf(&b, " (from closed ticket%s",
		    length(evidence) > 1 ? "s" : "");
		for (size_t i = 0; i < length(evidence); i++)
			dq_buf_printf(&b, "%s %s", i ? "," : "",
			    json_object_get_string(
			    json_object_array_get_idx(evidence, i)));
		dq_buf_printf(&b, ")");
	}
	if (json_object_is_type(slot, json_type_string))
		dq_buf_printf(&b, ", slot %s", json_object_get_string(slot));
	else if (dq_get_str(slot, "start"))
		dq_buf_printf(&b, ", slot %s", dq_get_str(slot, "start"));
	line = dq_buf_take(&b);
	say(2, "%s", line);
	free(line);
}

struct excluded_hit {
	const char *member, *why;
};

static void
find_excluded(const char *id, const char *why, void *arg)
{
	struct excluded_hit *h = arg;

	if (!h->why && !strcmp(id, h->member))
		h->why = why ? why : "";
}

static bool
in_list(json_object *list, const char *id)
{
	for (size_t i = 0; i < length(list); i++) {
		json_object *e = json_object_array_get_idx(list, i);

		if (!strcmp(json_object_get_string(e), id))
			return true;
	}
	return false;
}

/* What happened to one member on this ticket, in one paragraph. */
static void
tell_member(json_object *t, const char *id)
{
	json_object *eligible = dq_get(t, "eligible");
	json_object *dispatch = dq_get(t, "dispatch");
	json_object *cands = dq_get(dispatch, "candidates");
	const char *chosen = dq_get_str(dispatch, "chosen");
	const char *outcome_of = dq_get_str(dispatch, "outcome");
	struct excluded_hit hit = { id, NULL };
	char name[256], *words;

	snprintf(name, sizeof name, "%s", who(id));
	printf("\n");
	if (chosen && !strcmp(chosen, id)) {
		say(0, "%s: chosen.", name);
		return;
	}
	if (!eligible) {
		say(0, "%s: nobody was considered; the ticket was %s.", name,
		    outcome_of ? outcome_of : "not decided");
		return;
	}
	each_excluded(dq_get(eligible, "excluded"), find_excluded, &hit);
	if (hit.why) {
		words = dq_reason_words(hit.why);
		say(0, "%s: in the pool, but dq-eligible excluded them: %s.",
		    name, words);
		free(words);
		return;
	}
	each_excluded(dq_get(dispatch, "excluded"), find_excluded, &hit);
	if (hit.why) {
		words = dq_reason_words(hit.why);
		say(0, "%s: eligible, but dq-pick excluded them: %s.", name,
		    words);
		free(words);
		return;
	}
	for (size_t i = 0; i < length(cands); i++) {
		json_object *c = json_object_array_get_idx(cands, i);

		if (strcmp(dq_get_str(c, "id") ? dq_get_str(c, "id") : "", id))
			continue;
		if (chosen)
			say(0, "%s: ranked %zu of %zu, behind %s.", name, i + 1,
			    length(cands), who(chosen));
		else
			say(0, "%s: ranked %zu of %zu; the ticket was %s.",
			    name, i + 1, length(cands), outcome_of);
		return;
	}
	if (in_list(dq_get(eligible, "candidates"), id)) {
		say(0, "%s: eligible, but %s; the ticket was %s.", name,
		    length(cands) ? "ranked below the candidates listed" :
		    "no candidate was ranked", outcome_of ? outcome_of :
		    "not decided");
		return;
	}
	say(0, "%s: not in the pool of this ticket.", name);
}

static void
tell_applied(json_object *applied)
{
	json_object *changes = dq_get(applied, "changes");
	const char *error = dq_get_str(applied, "error");
	const char *webhook = dq_get_str(applied, "webhook");

	if (!applied)
		return;
	printf("\n");
	say(0, "Applied: %s to %s%s%s.",
	    dq_get_str(applied, "outcome") ? dq_get_str(applied, "outcome") : "?",
	    dq_get_str(applied, "target") ? dq_get_str(applied, "target") : "?",
	    webhook ? ", webhook " : "", webhook ? webhook : "");
	if (error)
		say(2, "Error: %s.", error);
	if (!length(changes)) {
		say(2, "No change %s.", dq_get_bool(applied, "commit", false) ?
		    "was written" : "would be written");
		return;
	}
	say(2, "%s:", dq_get_bool(applied, "commit", false) ? "Written" :
	    "Would write");
	for (size_t i = 0; i < length(changes); i++) {
		json_object *c = json_object_array_get_idx(changes, i);

		say(4, "%s %s", dq_get_str(c, "method"), dq_get_str(c, "path"));
	}
}

/* The whole account of a ticket record as the stages annotated it. */
static void
explain(json_object *t)
{
	json_object *eligible = dq_get(t, "eligible");
	json_object *dispatch = dq_get(t, "dispatch");
	json_object *slot = dq_get(t, "slot");
	json_object *cands = dq_get(dispatch, "candidates");
	json_object *ranked = dq_get(dispatch, "ranked");
	const char *out = dq_get_str(dispatch, "outcome");
	const char *chosen = dq_get_str(dispatch, "chosen");
	const char *team = dq_get_str(dispatch, "team");
	const char *mode = dq_get_str(dispatch, "mode");
	const char *note = dq_get_str(dispatch, "note");

	say(0, "Ticket %s: %s", wanted,
	    dq_get_str(t, "summary") ? dq_get_str(t, "summary") : "");
	say(2, "Board %s, status %s, company %s, priority %s.",
	    dq_get_str(t, "board") ? dq_get_str(t, "board") : "-",
	    dq_get_str(t, "status") ? dq_get_str(t, "status") : "-",
	    dq_get_str(t, "company") ? dq_get_str(t, "company") : "-",
	    dq_get_str(t, "priority") ? dq_get_str(t, "priority") : "-");
	printf("\n");
	if (!dispatch) {
		say(0, "Not decided: no stage wrote a dispatch for it.");
	} else if (!strcmp(out ? out : "", "skipped")) {
		say_reason(0, "Skipped: ", dq_get_str(dispatch, "reason"));
	} else {
		if (chosen)
			say(0, "Decision: %s, to %s%s%s.", out, who(chosen),
			    team ? " in team " : "", team ? team : "");
		else if (team && !strcmp(out ? out : "", "team"))
			say(0, "Decision: team %s, no owner.", team);
		else
			say(0, "Decision: %s.", out ? out : "none");
		if (mode)
			say(2, "Mode: %s.", mode);
		say_reason(2, "Why: ", dq_get_str(dispatch, "reason"));
		if (note)
			say(2, "Note: %s", note);
	}
	if (eligible) {
		json_object *pool_ids = dq_get(eligible, "candidates");
		const char *pool = dq_get_str(eligible, "pool");
		const char *pteam = dq_get_str(eligible, "team");

		printf("\n");
		say(0, "Pool: %s%s%s; %zu eligible.", pool ? pool : "-",
		    pteam ? ", team " : "", pteam ? pteam : "",
		    length(pool_ids));
		if (length(dq_get(eligible, "excluded"))) {
			say(0, "Excluded by dq-eligible:");
			each_excluded(dq_get(eligible, "excluded"),
			    print_excluded, NULL);
		}
	}
	if (length(dq_get(dispatch, "excluded"))) {
		say(0, "Excluded by dq-pick:");
		each_excluded(dq_get(dispatch, "excluded"), print_excluded, NULL);
	}
	if (length(cands)) {
		if (ranked)
			say(0, "Ranked (%zu listed of %s):", length(cands),
			    dq_json_string(ranked));
		else
			say(0, "Ranked:");
		for (size_t i = 0; i < length(cands); i++)
			tell_candidate(i + 1, json_object_array_get_idx(cands, i));
	}
	if (slot) {
		printf("\n");
		if (dq_get_str(slot, "error"))
			say(0, "Slot: none (%s).", dq_get_str(slot, "error"));
		else
			say(0, "Slot: %s, %s to %s (buffer %s minutes).",
			    who(dq_get_str(slot, "member")),
			    dq_get_str(slot, "start"), dq_get_str(slot, "end"),
			    dq_get(slot, "buffer_minutes") ? dq_json_string(
			    dq_get(slot, "buffer_minutes")) : "0");
	}
	tell_applied(dq_get(t, "applied"));
	if (dq_policy.member)
		tell_member(t, dq_policy.member);
}

static void
record(struct dq_input *in, void *arg)
{
	(void)arg;
	if (!strcmp(in->kind, "member")) {
		const char *id = dq_need_str(in->rec, "member", "id");
		const char *name = dq_get_str(in->rec, "name");

		if (name)
			json_object_object_add(members, id,
			    json_object_new_string(name));
	} else if (!strcmp(in->kind, "ticket") &&
	    !strcmp(dq_need_str(in->rec, "ticket", "id"), wanted)) {
		json_object_put(found);
		found = json_object_get(in->rec);
	}
}

static void
journal_line(const struct dq_journal_line *jl, void *arg)
{
	json_object **keep;

	(void)arg;
	if (!jl->ticket || strcmp(jl->ticket, wanted))
		return;
	if (!strcmp(jl->phase, "intent"))
		keep = &intent;
	else if (!strcmp(jl->phase, "outcome"))
		keep = &outcome;
	else
		return;
	json_object_put(*keep);
	*keep = json_object_get(jl->line);
}

static void
tell_journal_line(const char *what, json_object *line)
{
	json_object *rec = dq_get(line, "record");
	json_object *dispatch = dq_get(rec, "dispatch");
	json_object *applied = dq_get(rec, "applied");
	const char *chosen = dq_get_str(dispatch, "chosen");
	char *words = dq_reason_words(dq_get_str(dispatch, "reason"));

	say(2, "Last %s: run %s at %s: %s%s%s (%s)%s%s.", what,
	    dq_get_str(line, "run") ? dq_get_str(line, "run") : "?",
	    dq_get_str(line, "at") ? dq_get_str(line, "at") : "?",
	    dq_get_str(dispatch, "outcome") ? dq_get_str(dispatch, "outcome") :
	    "no decision", chosen ? " to " : "", chosen ? who(chosen) : "",
	    words, applied ? "; dq-apply: " : "",
	    applied && dq_get_str(applied, "outcome") ?
	    dq_get_str(applied, "outcome") : "");
	free(words);
	for (size_t i = 0; i < length(dq_get(applied, "changes")); i++) {
		json_object *c = json_object_array_get_idx(
		    dq_get(applied, "changes"), i);

		say(4, "%s %s", dq_get_str(c, "method"), dq_get_str(c, "path"));
	}
}

int
main(int argc, char *argv[])
{
	int first = dq_policy_load(argc, argv, DQ_EXPLAIN,
	    "[options] TICKET [file ...]",
	    "Tells in words how the stages decided one ticket.");
	bool from_stream;

	if (first >= argc)
		dq_usage("no ticket named");
	wanted = argv[first++];
	members = json_object_new_object();
	/* With a journal and no files, a terminal on stdin is not a stream:
	 * the journal alone is asked. */
	from_stream = first < argc || !dq_policy.journals.n ||
	    !isatty(STDIN_FILENO);
	if (from_stream)
		dq_stream_files(argc - first, argv + first, record, NULL);
	if (dq_policy.journals.n)
		dq_journal_read(&dq_policy.journals, journal_line, NULL);
	if (!found && !intent && !outcome) {
		dq_warnx("no record of ticket %s", wanted);
		json_object_put(members);
		return dq_close_stdout(1);
	}
	if (found) {
		explain(found);
	} else {
		/* The journal's record is the ticket as dq-apply saw it. */
		explain(dq_get(outcome ? outcome : intent, "record"));
	}
	if (dq_policy.journals.n) {
		printf("\n");
		if (!intent && !outcome)
			say(0, "The journal has no committed line for ticket %s.",
			    wanted);
		else
			say(0, "The journal:");
		if (intent)
			tell_journal_line("intent", intent);
		if (outcome)
			tell_journal_line("outcome", outcome);
	}
	json_object_put(found);
	json_object_put(intent);
	json_object_put(outcome);
	json_object_put(members);
	return dq_close_stdout(0);
}
