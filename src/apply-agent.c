/* apply-agent.c: the commands a human or an agent gives about work dq
 * gave an agent (DESIGN §5). The journal holds everything they need: the
 * assignment, the webhook's URL and the very event to send, so they take
 * ticket ids, not a stream.
 *
 *   --approve  a webhook held for approval goes out (or, with
 *              --no-auto-start, is deferred to --start);
 *   --reject   a held assignment is undone: the ticket is queued again;
 *   --start    a deferred webhook goes out;
 *   --ack      the agent has acknowledged its ticket (for dq-watch).
 *
 * Without --commit each says what it would do. */
#include <config.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dq.h"
#include "apply.h"

static struct dq_journal *journal;
static struct dq_cw *http;
static int status;

struct command {
	const char *phase;
	const char *const *from;	/* the webhook states it acts on */
	const char *to;			/* the state it leaves; NULL: none */
};

static const char *const held[] = { "pending-approval", NULL };
static const char *const deferred[] = { "deferred", NULL };
static const char *const waiting[] = { "pending-approval", "deferred", NULL };
static const char *const sent[] = { "sent", NULL };

static bool
one_of(const char *const *list, const char *s)
{
	for (; s && *list; list++)
		if (!strcmp(*list, s))
			return true;
	return false;
}

static void
failure(int code, const char *ticket, const char *msg)
{
	dq_warnx("ticket %s: %s", ticket, msg);
	status = dq_exit_worse(status, code);
}

struct delivery {
	const char *ticket;
	bool ok;
};

static void
delivered(const struct dq_cw_reply *reply, void *arg)
{
	struct delivery *d = arg;

	d->ok = reply->exit == DQ_EXIT_OK;
	if (!d->ok)
		failure(reply->exit, d->ticket, reply->error ? reply->error :
		    "not delivered");
}

/* Sends the delivery the journal kept, as it was first meant. */
static bool
send_kept(const char *ticket, json_object *applied)
{
	json_object *kept = dq_get(applied, "delivery");
	struct delivery d = { ticket, false };

	if (!dq_get_str(kept, "url") || !dq_get_str(kept, "id") ||
	    !dq_get(kept, "body")) {
		failure(DQ_EXIT_DATA, ticket, "the journal keeps no delivery");
		return false;
	}
	dq_webhook_post(http, dq_get_str(kept, "url"),
	    dq_json_string(dq_get(kept, "body")), dq_get_str(kept, "id"),
	    delivered, &d);
	dq_cw_run(http);
	return d.ok;
}

static json_object *
ack_record(const char *ticket, const char *member)
{
	json_object *a = json_object_new_object();

	json_object_object_add(a, "kind", json_object_new_string("ack"));
	json_object_object_add(a, "ticket", json_object_new_string(ticket));
	json_object_object_add(a, "member", json_object_new_string(member));
	return a;
}

/* The ticket record as the command leaves it: its applied says the new
 * webhook state, and what went out. A dry run says what would go out:
 * "would-send", outcome "dry-run". */
static json_object *
moved(json_object *record, const char *to, bool commit)
{
	json_object *rec = NULL, *applied, *kept;
	json_object *changes = json_object_new_array();

	json_object_deep_copy(record, &rec, NULL);
	applied = dq_get(rec, "applied");
	kept = dq_get(applied, "delivery");

	if (!strcmp(to, "sent"))
		json_object_array_add(changes, dq_apply_change("POST",
		    dq_get_str(kept, "url"), dq_get(kept, "body")));
	json_object_object_add(applied, "commit", json_object_new_boolean(commit));
	if (!commit)
		json_object_object_add(applied, "outcome",
		    json_object_new_string("dry-run"));
	json_object_object_add(applied, "webhook", json_object_new_string(
	    !commit && !strcmp(to, "sent") ? "would-send" : to));
	json_object_object_add(applied, "changes", changes);
	return rec;
}

static void
act(const struct command *c, const char *ticket, bool commit)
{
	struct dq_holding h = { 0 };
	json_object *out;
	const char *member;

	if (commit)
		dq_journal_lock(journal);
	if (journal)
		dq_journal_holding(journal, ticket, &h);
	/* An agent's assignment has a webhook; a cleared one no longer. */
	member = h.cleared ? NULL : h.member;
	if (!member || !h.webhook) {
		failure(DQ_EXIT_DATA, ticket, "the journal shows no agent "
		    "assigned to it by dq");
	} else if (!one_of(c->from, h.webhook)) {
		char msg[128];

		snprintf(msg, sizeof msg, "its webhook is %s: nothing to %s",
		    h.webhook, c->phase);
		failure(DQ_EXIT_DATA, ticket, msg);
	} else if (!c->to) {
		out = ack_record(ticket, member);
		if (commit)
			dq_journal_add(journal, c->phase, 0, true, out);
		dq_write(out);
		json_object_put(out);
	} else {
		json_object *applied = dq_get(h.record, "applied");
		const char *to = c->to;

		/* Approved, it goes out unless the assignment (or this
		 * command) waits for --start. */
		if (!strcmp(c->phase, "approve") && (!dq_policy.auto_start ||
		    !dq_get_bool(dq_get(applied, "delivery"), "auto_start",
		    true)))
			to = "deferred";
		out = moved(h.record, to, commit);
		if (!commit || strcmp(to, "sent") || send_kept(ticket, applied)) {
			if (commit)
				dq_journal_add(journal, c->phase, 0, true, out);
			dq_write(out);
		}
		json_object_put(out);
	}
	if (commit)
		dq_journal_unlock(journal);
}

int
dq_apply_agent(int argc, char **argv)
{
	static const struct command approve = { "approve", held, "sent" };
	static const struct command reject = { "reject", waiting, "rejected" };
	static const struct command start = { "start", deferred, "sent" };
	static const struct command ack = { "ack", sent, NULL };
	const struct command *c = dq_policy.approve ? &approve :
	    dq_policy.reject ? &reject : dq_policy.start ? &start : &ack;
	const char *path;
	char run[64];

	if (dq_policy.approve + dq_policy.reject + dq_policy.start +
	    dq_policy.ack != 1)
		dq_usage("give one of --approve, --reject, --start and --ack");
	if (!dq_policy.journals.n)
		dq_usage("--%s needs --journal", c->phase);
	if (argc < 1)
		dq_usage("--%s needs ticket ids", c->phase);
	path = dq_policy.journals.v[dq_policy.journals.n - 1];
	snprintf(run, sizeof run, "%s-%ld", c->phase, (long)dq_now());
	/* A dry run reads the journal as a writer would, and creates none. */
	if (dq_policy.commit || access(path, F_OK) == 0)
		journal = dq_journal_open(path, run);
	if (journal && !dq_policy.commit) {
		dq_journal_lock(journal);
		dq_journal_unlock(journal);
	}
	if (dq_policy.commit && (c == &approve || c == &start))
		http = dq_http_open();
	for (int i = 0; i < argc; i++)
		act(c, argv[i], dq_policy.commit);
	if (journal)
		dq_journal_close(journal);
	if (http)
		dq_cw_close(http);
	return status;
}

/* --pending */

struct waiting {
	const char *ticket;
	struct dq_holding h;
};

static int
by_since(const void *a, const void *b)
{
	const struct waiting *x = a, *y = b;

	if (x->h.since != y->h.since)
		return x->h.since < y->h.since ? -1 : 1;
	return dq_strcmp_ptr(&x->ticket, &y->ticket);
}

struct waiting_list {
	struct waiting *v;
	size_t n;
};

static void
add_waiting(const char *ticket, const struct dq_holding *h, void *arg)
{
	struct waiting_list *l = arg;

	if (!h->member || h->cleared || !one_of(waiting, h->webhook))
		return;
	l->v = xrealloc(l->v, (l->n + 1) * sizeof *l->v);
	l->v[l->n++] = (struct waiting){ ticket, *h };
}

int
dq_apply_pending(void)
{
	struct dq_holdings *hs;
	struct waiting_list l = { NULL, 0 };
	const char *f = dq_policy.format;
	bool table = f ? !strcmp(f, "table") : isatty(STDOUT_FILENO);
	char since[DQ_TIMEBUF];

	if (!dq_policy.journals.n)
		dq_usage("--pending needs --journal");
	hs = dq_holdings_read(&dq_policy.journals);
	dq_holdings_each(hs, add_waiting, &l);
	if (l.n)
		qsort(l.v, l.n, sizeof *l.v, by_since);
	if (table)
		printf("%-8s %-16s %-16s %-20s %s\n", "TICKET", "MEMBER",
		    "WAITING", "SINCE", "SUMMARY");
	for (size_t i = 0; i < l.n; i++) {
		const struct waiting *w = &l.v[i];
		const char *summary = dq_get_str(w->h.record, "summary");
		const char *state = !strcmp(w->h.webhook, "deferred") ?
		    "start" : "approval";
		json_object *o;

		dq_time_format(w->h.since, since);
		if (table) {
			printf("%-8s %-16s %-16s %-20s ", w->ticket, w->h.member,
			    state, since);
			/* A summary cannot move the cursor. */
			for (const char *c = summary ? summary : "-"; *c; c++)
				putchar((unsigned char)*c < 0x20 || *c == 0x7f ?
				    ' ' : *c);
			putchar('\n');
			continue;
		}
		o = json_object_new_object();
		json_object_object_add(o, "kind", json_object_new_string("pending"));
		json_object_object_add(o, "ticket", json_object_new_string(w->ticket));
		json_object_object_add(o, "member",
		    json_object_new_string(w->h.member));
		json_object_object_add(o, "webhook",
		    json_object_new_string(w->h.webhook));
		json_object_object_add(o, "since", json_object_new_string(since));
		json_object_object_add(o, "summary",
		    summary ? json_object_new_string(summary) : NULL);
		dq_write(o);
		json_object_put(o);
	}
	free(l.v);
	dq_holdings_free(hs);
	return 0;
}
