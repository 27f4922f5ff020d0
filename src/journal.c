/* journal.c: the journal of DESIGN §6, an append-only NDJSON file of what
 * dq-apply did, read by the stages that must not do it again.
 *
 * Writers append whole lines: each batch goes out in one write(2) under an
 * exclusive flock(2) and is fsync(2)ed before the lock is let go, so a line
 * is either all there or (after a power cut) a torn last line that readers
 * skip. A writer that finds the file ending mid-line starts a new line, so
 * a torn line never swallows the next one.
 *
 * A run that crashed leaves intents without outcomes; a run still going
 * leaves them too. To tell the two apart, a writer holds, for as long as it
 * has the journal open, a record lock on the byte of the journal at the
 * offset of its pid (beyond the end of the file, where nothing is ever
 * written). The kernel drops the lock when the process dies, however it
 * dies, so "the byte of pid P is locked" means "the run of pid P is alive".
 * A new process that reuses a dead run's pid is not holding that lock
 * unless it is itself a journal writer. The locks are open file
 * description locks where the system has them, which no other descriptor
 * of the process can release by being closed.
 *
 * The intent of a dead run is its unfinished work: the next writer
 * finishes it (dq-apply re-reads the ticket and writes what is missing)
 * and ends it with an outcome line of its own whose "finishes" names the
 * intent's run, pid and seq. An intent that a later intent or settling
 * outcome of the ticket followed is history, not work. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/linkhash.h>

#include "dq.h"

#ifdef F_OFD_SETLK
#define LIVE_SETLK F_OFD_SETLK
#define LIVE_GETLK F_OFD_GETLK
#else
#define LIVE_SETLK F_SETLK
#define LIVE_GETLK F_GETLK
#endif

struct dq_journal {
	char *path;
	int fd;
	char *run;
	long pid;
	off_t offset;		/* how far the lines of others have been read */
	size_t lines;		/* and how many lines that is */
	json_object *open;	/* ticket -> [{"run", "pid", "line",
				 * "superseded"}]: unfinished intents of
				 * other processes, oldest first */
	struct dq_holdings *holdings;	/* where each ticket stands */
	json_object *last;	/* ticket -> its latest outcome line */
	json_object *intents;	/* ticket -> its latest intent line */
	struct dq_buf pending;	/* lines added under the lock, not yet written */
};

/* Reading */

/* The ticket a line is about: a ticket record's id, or the "ticket" of an
 * event or approval. */
static const char *
line_ticket(json_object *record)
{
	const char *kind = dq_get_str(record, "kind");

	if (kind && !strcmp(kind, "ticket"))
		return dq_get_str(record, "id");
	return dq_get_str(record, "ticket");
}

/* The fields of a line that some reader uses, and their types; a field
 * may be absent or null. "record" stands for the line's record. */
static const struct {
	const char *parent, *name;
	json_type type;
} shape[] = {
	{ NULL, "run", json_type_string }, { NULL, "seq", json_type_int },
	{ NULL, "pid", json_type_int }, { NULL, "at", json_type_string },
	{ NULL, "wall", json_type_string }, { NULL, "commit", json_type_boolean },
	{ NULL, "finishes", json_type_object },
	{ "record", "kind", json_type_string },
	{ "record", "id", json_type_string },
	{ "record", "ticket", json_type_string },
	{ "record", "member", json_type_string },
	{ "record", "type", json_type_string },
	{ "record", "status", json_type_string },
	{ "record", "last_seen_at", json_type_string },
	{ "record", "clear", json_type_boolean },
	{ "record", "dispatch", json_type_object },
	{ "record", "applied", json_type_object },
	{ "dispatch", "outcome", json_type_string },
	{ "dispatch", "chosen", json_type_string },
	{ "dispatch", "team", json_type_string },
	{ "applied", "outcome", json_type_string },
	{ "applied", "target", json_type_string },
	{ "applied", "webhook", json_type_string },
	{ "applied", "status", json_type_string },
	{ "applied", "entry", json_type_int },
	{ "applied", "changes", json_type_array },
};

static const char *
type_name(json_type t)
{
	return t == json_type_string ? "a string" : t == json_type_int ?
	    "a whole number" : t == json_type_boolean ? "true or false" :
	    t == json_type_array ? "a list" : "an object";
}

/* Why a line cannot be read (into why), or false when it can:
 * each field in the shape table has its type, each time is RFC 3339. */
static bool
bad_line(json_object *j, char *why, size_t len)
{
	json_object *record = dq_get(j, "record");
	time_t t;

	if (!json_object_is_type(record, json_type_object)) {
		snprintf(why, len, "\"record\" must be an object");
		return true;
	}
	for (size_t i = 0; i < sizeof shape / sizeof shape[0]; i++) {
		const char *parent = shape[i].parent;
		json_object *in = !parent ? j : !strcmp(parent, "record") ? record :
		    dq_get(record, parent);
		json_object *v = dq_get(in, shape[i].name);

		if (v && !json_object_is_type(v, shape[i].type)) {
			snprintf(why, len, "\"%s%s%s%s\" must be %s",
			    parent ? "record." : "", parent && strcmp(parent,
			    "record") ? parent : "", parent && strcmp(parent,
			    "record") ? "." : "", shape[i].name,
			    type_name(shape[i].type));
			return true;
		}
	}
	for (const char *const *f = (const char *const[]){ "at", "wall", NULL };
	    *f; f++)
		if (dq_get(j, *f) && !dq_time_parse(dq_get_str(j, *f), &t)) {
			snprintf(why, len, "\"%s\" is not an RFC 3339 time", *f);
			return true;
		}
	if (dq_get(record, "last_seen_at") && !dq_time_parse(dq_get_str(record,
	    "last_seen_at"), &t)) {
		snprintf(why, len, "\"record.last_seen_at\" is not an RFC 3339 "
		    "time");
		return true;
	}
	return false;
}

static void
read_one(const char *path, dq_journal_fn fn, void *arg)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL, why[128];
	size_t cap = 0, lineno = 0;
	ssize_t n;

	if (!fp && errno == ENOENT)
		return;		/* a journal not yet written is empty */
	if (!fp)
		dq_die(DQ_EXIT_NOINPUT, "%s: %s", path, strerror(errno));
	/* A writer's line goes out in one write, but a reader could still see
	 * half of it: read under a shared lock. */
	flock(fileno(fp), LOCK_SH);
	while ((n = dq_getline(&line, &cap, fp, DQ_MAX_LINE)) != -1) {
		struct dq_journal_line jl = { .file = path };
		json_object *j;

		lineno++;
		if (n == DQ_LINE_TOO_LONG)
			dq_die(DQ_EXIT_DATA, "%s: line %zu: longer than %d MiB", path,
			    lineno, DQ_MAX_LINE >> 20);
		if (line[n - 1] != '\n') {
			if (!dq_policy.quiet)
				dq_warnx("%s: line %zu: torn last line skipped",
				    path, lineno);
			break;
		}
		j = json_tokener_parse(line);
		if (!json_object_is_type(j, json_type_object) ||
		    !dq_get_str(j, "phase") || !dq_get(j, "record")) {
			/* A torn line that a later writer ended. */
			if (!dq_policy.quiet)
				dq_warnx("%s: line %zu: not a journal line; skipped",
				    path, lineno);
			json_object_put(j);
			continue;
		}
		/* A whole line of the wrong shape is not dq's: what it says
		 * cannot be trusted, nor the journal read without it. */
		if (bad_line(j, why, sizeof why))
			dq_die(DQ_EXIT_DATA, "%s: line %zu: %s", path, lineno, why);
		if (!dq_get_bool(j, "commit", false)) {
			json_object_put(j);
			continue;
		}
		jl.line = j;
		jl.lineno = lineno;
		jl.phase = dq_get_str(j, "phase");
		jl.run = dq_get_str(j, "run");
		jl.seq = (long)json_object_get_int64(dq_get(j, "seq"));
		jl.pid = (long)json_object_get_int64(dq_get(j, "pid"));
		jl.record = dq_get(j, "record");
		jl.ticket = line_ticket(jl.record);
		jl.has_at = dq_time_parse(dq_get_str(j, "at"), &jl.at);
		fn(&jl, arg);
		json_object_put(j);
	}
	if (ferror(fp))
		dq_die(DQ_EXIT_IO, "%s: read error", path);
	free(line);
	fclose(fp);
}

void
dq_journal_read(const struct dq_strlist *paths, dq_journal_fn fn, void *arg)
{
	for (size_t i = 0; i < paths->n; i++)
		read_one(paths->v[i], fn, arg);
}

/* Whether an outcome line records a decision that gave the ticket an
 * owner or a team and that is in the PSA (applied now, or found applied
 * by a re-run): the tickets dq-fetch lists for dq-watch. */
bool
dq_journal_settles(const struct dq_journal_line *jl)
{
	const char *decision = dq_get_str(dq_get(jl->record, "dispatch"),
	    "outcome");
	const char *applied = dq_get_str(dq_get(jl->record, "applied"),
	    "outcome");

	if (strcmp(jl->phase, "outcome") != 0 || !decision || !applied)
		return false;
	return (!strcmp(decision, "assigned") || !strcmp(decision, "team")) &&
	    (!strcmp(applied, "applied") || !strcmp(applied, "unchanged"));
}

/* Holdings: where the journal leaves each ticket (DESIGN §6). Only the
 * lines that change the assignment move it: an applied owner or team, a
 * clearing event, a reject; approve, start and ack lines move the push
 * and acknowledgement of the assignment they name. Everything else (a
 * skip, a decision that changes nothing, a conflict) leaves it alone. */

struct held {
	json_object *made;	/* the line that made the assignment: an
				 * outcome, or the clearing event of one the
				 * journal does not hold; NULL: none */
	const char *webhook;	/* one of webhook_states, or NULL */
	time_t since, pushed, done;
	bool acked, cleared, applied, unassigned;
	struct dq_strlist rejected;
	unsigned long serial;
};

struct dq_holdings {
	struct lh_table *tickets;	/* ticket id -> struct held */
	unsigned long serial;
};

static const char *const webhook_states[] = { "sent", "pending-approval",
	"deferred", "rejected" };

/* A webhook state as one of ours, so it outlives the line naming it. */
static const char *
webhook_state(const char *s)
{
	for (size_t i = 0; s && i < sizeof webhook_states /
	    sizeof webhook_states[0]; i++)
		if (!strcmp(s, webhook_states[i]))
			return webhook_states[i];
	return NULL;
}

static void
free_held(struct lh_entry *e)
{
	struct held *h = lh_entry_v(e);

	free(lh_entry_k(e));
	json_object_put(h->made);
	dq_strlist_clear(&h->rejected);
	free(h);
}

struct dq_holdings *
dq_holdings_new(void)
{
	struct dq_holdings *hs = xcalloc(1, sizeof *hs);

	hs->tickets = lh_kchar_table_new(256, free_held);
	return hs;
}

void
dq_holdings_free(struct dq_holdings *hs)
{
	if (!hs)
		return;
	lh_table_free(hs->tickets);
	free(hs);
}

static struct held *
held_of(struct dq_holdings *hs, const char *ticket)
{
	struct lh_entry *e = lh_table_lookup_entry(hs->tickets, ticket);
	struct held *h;

	if (e)
		return lh_entry_v(e);
	h = xcalloc(1, sizeof *h);
	lh_table_insert(hs->tickets, xstrdup(ticket), h);
	return h;
}

/* Whom the line that made an assignment gave the ticket: the chosen
 * member of an outcome, the previous owner of a clearing event. */
static const char *
made_member(json_object *made)
{
	json_object *record = dq_get(made, "record");
	const char *phase = dq_get_str(made, "phase");

	if (phase && !strcmp(phase, "event"))
		return dq_get_str(record, "member");
	return dq_get_str(dq_get(record, "dispatch"), "chosen");
}

static const char *
made_team(json_object *made)
{
	const char *phase = dq_get_str(made, "phase");

	if (!made || (phase && !strcmp(phase, "event")))
		return NULL;
	return dq_get_str(dq_get(dq_get(made, "record"), "dispatch"), "team");
}

static bool
same_str(const char *a, const char *b)
{
	return a && b ? !strcmp(a, b) : !a && !b;
}

static time_t
later(time_t a, time_t b)
{
	return a > b ? a : b;
}

/* When the line was written, or else when its run acted. */
static time_t
wall_of(const struct dq_journal_line *jl)
{
	time_t wall;

	return dq_time_parse(dq_get_str(jl->line, "wall"), &wall) ?
	    later(wall, jl->at) : jl->at;
}

static void
hold_outcome(struct dq_holdings *hs, struct held *h,
    const struct dq_journal_line *jl)
{
	json_object *dispatch = dq_get(jl->record, "dispatch");
	json_object *applied = dq_get(jl->record, "applied");
	const char *decision = dq_get_str(dispatch, "outcome");
	const char *outcome = dq_get_str(applied, "outcome");
	const char *chosen = NULL;

	if (!decision || !outcome || (strcmp(outcome, "applied") &&
	    strcmp(outcome, "unchanged")))
		return;		/* nothing reached the target */
	if (!strcmp(decision, "unassigned")) {
		if (!h->made || h->cleared)
			h->unassigned = true;
		return;
	}
	if (!strcmp(decision, "assigned"))
		chosen = dq_get_str(dispatch, "chosen");
	else if (strcmp(decision, "team") != 0)
		return;		/* skipped, held, manual */
	/* The same assignment again (a re-run, a kept team) changes nothing. */
	if (h->made && !h->cleared && same_str(chosen, made_member(h->made)) &&
	    same_str(dq_get_str(dispatch, "team"), made_team(h->made)))
		return;
	json_object_put(h->made);
	h->made = json_object_get(jl->line);
	h->serial = ++hs->serial;
	h->since = jl->at;
	h->done = wall_of(jl);
	h->webhook = webhook_state(dq_get_str(applied, "webhook"));
	/* Without a webhook the PSA tells the technician at once. */
	h->pushed = !h->webhook || h->webhook == webhook_states[0] ? jl->at : 0;
	h->acked = h->cleared = h->unassigned = false;
	h->applied = true;
}

void
dq_holdings_add(struct dq_holdings *hs, const struct dq_journal_line *jl)
{
	struct held *h;
	const char *member, *state;

	if (!jl->ticket || !jl->has_at)
		return;
	h = held_of(hs, jl->ticket);
	member = h->made ? made_member(h->made) : NULL;
	if (!strcmp(jl->phase, "outcome")) {
		hold_outcome(hs, h, jl);
	} else if (!strcmp(jl->phase, "event")) {
		if (!dq_get_bool(jl->record, "clear", false))
			return;
		/* Until a new owner is written the ticket is the previous
		 * one's, as the PSA still shows it. */
		if (!member && dq_get_str(jl->record, "member")) {
			json_object_put(h->made);
			h->made = json_object_get(jl->line);
			h->serial = ++hs->serial;
			h->since = h->pushed = jl->at;
			h->done = wall_of(jl);
		}
		/* Re-dispatch it: for --once and --no-retry, unsettled. */
		h->cleared = true;
		h->applied = h->unassigned = false;
	} else if (!strcmp(jl->phase, "reject")) {
		if (!member)
			return;
		if (!dq_strlist_has(&h->rejected, member))
			dq_strlist_add(&h->rejected, member);
		json_object_put(h->made);
		h->made = NULL;
		h->serial = ++hs->serial;
		h->since = jl->at;
		h->webhook = webhook_states[3];
		h->pushed = 0;
		h->acked = h->cleared = h->applied = h->unassigned = false;
	} else if (!strcmp(jl->phase, "approve") || !strcmp(jl->phase, "start")) {
		if (!member || !same_str(member, dq_get_str(dq_get(jl->record,
		    "dispatch"), "chosen")) || !(state = webhook_state(
		    dq_get_str(dq_get(jl->record, "applied"), "webhook"))))
			return;
		h->webhook = state;
		if (state == webhook_states[0]) {
			h->pushed = jl->at;
			h->done = later(h->done, wall_of(jl));
		}
	} else if (!strcmp(jl->phase, "ack")) {
		if (member && same_str(member, dq_get_str(jl->record, "member")))
			h->acked = true;
	}
}

static void
add_holding(const struct dq_journal_line *jl, void *arg)
{
	dq_holdings_add(arg, jl);
}

struct dq_holdings *
dq_holdings_read(const struct dq_strlist *paths)
{
	struct dq_holdings *hs = dq_holdings_new();

	dq_journal_read(paths, add_holding, hs);
	return hs;
}

static void
view(const struct held *h, struct dq_holding *out)
{
	json_object *record = dq_get(h->made, "record");
	json_object *applied = dq_get(record, "applied");
	json_object *entry = dq_get(applied, "entry");
	time_t slot;

	memset(out, 0, sizeof *out);
	out->member = h->made ? made_member(h->made) : NULL;
	out->team = made_team(h->made);
	out->record = record;
	if (h->made && strcmp(dq_get_str(h->made, "phase"), "event") != 0) {
		out->status = dq_get_str(applied, "status") ?
		    dq_get_str(applied, "status") : dq_get_str(record, "status");
		if (json_object_is_type(entry, json_type_int))
			out->entry = (long)json_object_get_int64(entry);
		if (dq_time_parse(dq_get_str(dq_get(record, "slot"), "start"),
		    &slot))
			out->slot = slot;
	}
	out->webhook = h->webhook;
	out->since = h->since;
	out->pushed = h->pushed;
	out->done = h->done;
	out->acked = h->acked;
	out->cleared = h->cleared;
	out->applied = h->applied;
	out->unassigned = h->unassigned;
	out->rejected = &h->rejected;
	out->serial = h->serial;
}

bool
dq_holding(const struct dq_holdings *hs, const char *ticket,
    struct dq_holding *out)
{
	struct lh_entry *e = hs && ticket ?
	    lh_table_lookup_entry(hs->tickets, ticket) : NULL;
	static const struct held none;

	view(e ? lh_entry_v(e) : &none, out);
	return e != NULL;
}

void
dq_holdings_each(const struct dq_holdings *hs, dq_holding_fn fn, void *arg)
{
	struct lh_entry *e;
	struct dq_holding h;

	lh_foreach(hs->tickets, e) {
		view(lh_entry_v(e), &h);
		fn(lh_entry_k(e), &h, arg);
	}
}

/* When each member was last given a ticket: the assignments as the
 * holdings take them in, so a line that changes nothing moves nobody. */
struct last_dispatch {
	struct dq_holdings *hs;
	json_object *map;
};

static void
add_last(const struct dq_journal_line *jl, void *arg)
{
	struct last_dispatch *ld = arg;
	unsigned long serial = ld->hs->serial;
	struct dq_holding h;
	json_object *old;
	time_t before;

	dq_holdings_add(ld->hs, jl);
	if (ld->hs->serial == serial || !dq_holding(ld->hs, jl->ticket, &h) ||
	    !h.member || !h.applied)
		return;
	if (json_object_object_get_ex(ld->map, h.member, &old) &&
	    dq_time_parse(json_object_get_string(old), &before) &&
	    before >= jl->at)
		return;
	json_object_object_add(ld->map, h.member,
	    json_object_new_string(dq_get_str(jl->line, "at")));
}

json_object *
dq_journal_last_dispatch(const struct dq_strlist *paths)
{
	struct last_dispatch ld = { dq_holdings_new(), json_object_new_object() };

	dq_journal_read(paths, add_last, &ld);
	dq_holdings_free(ld.hs);
	return ld.map;
}

/* Writing */

static void
hold_live_lock(struct dq_journal *j)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
	    .l_start = (off_t)j->pid, .l_len = 1 };

	/* Without it other runs would take this one for dead and might write
	 * its tickets too: refuse to go on. */
	if (fcntl(j->fd, LIVE_SETLK, &fl) != 0)
		dq_die(DQ_EXIT_IO, "%s: cannot lock: %s", j->path,
		    strerror(errno));
}

/* Whether the run of process pid has the journal open. When the lock
 * cannot be asked about, it is taken to: a ticket is never written twice. */
static bool
live(struct dq_journal *j, long pid)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
	    .l_start = (off_t)pid, .l_len = 1 };

	if (pid <= 0 || pid == j->pid)
		return false;	/* this process, so that run is over */
	if (fcntl(j->fd, LIVE_GETLK, &fl) != 0)
		return true;
	return fl.l_type != F_UNLCK;
}

struct dq_journal *
dq_journal_open(const char *path, const char *run)
{
	struct dq_journal *j = xcalloc(1, sizeof *j);

	/* Ticket data and agents' webhook URLs: for its owner's eyes. */
	j->fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (j->fd < 0)
		dq_die(DQ_EXIT_IO, "%s: %s", path, strerror(errno));
	j->path = xstrdup(path);
	j->run = xstrdup(run);
	j->pid = (long)getpid();
	j->open = json_object_new_object();
	j->holdings = dq_holdings_new();
	j->last = json_object_new_object();
	j->intents = json_object_new_object();
	hold_live_lock(j);
	return j;
}

void
dq_journal_close(struct dq_journal *j)
{
	close(j->fd);
	json_object_put(j->open);
	dq_holdings_free(j->holdings);
	json_object_put(j->last);
	json_object_put(j->intents);
	free(j->pending.s);
	free(j->path);
	free(j->run);
	free(j);
}

static bool
same_holder(json_object *h, const char *run, long pid)
{
	return json_object_get_int64(dq_get(h, "pid")) == pid &&
	    !strcmp(dq_get_str(h, "run") ? dq_get_str(h, "run") : "", run);
}

/* Ends the open intent of run and pid for the ticket of holders. */
static void
end_holder(json_object *holders, const char *run, long pid)
{
	for (size_t i = 0; i < json_object_array_length(holders); i++)
		if (same_holder(json_object_array_get_idx(holders, i), run, pid)) {
			json_object_array_del_idx(holders, i, 1);
			return;
		}
}

static void
supersede(json_object *holders)
{
	for (size_t i = 0; i < json_object_array_length(holders); i++)
		json_object_object_add(json_object_array_get_idx(holders, i),
		    "superseded", json_object_new_boolean(true));
}

/* Follows a committed line, of any process, into where its ticket stands
 * and what was last meant for it. */
static void
track_state(struct dq_journal *j, json_object *line)
{
	struct dq_journal_line jl = { .line = line, .file = j->path };

	jl.phase = dq_get_str(line, "phase");
	jl.record = dq_get(line, "record");
	jl.ticket = line_ticket(jl.record);
	if (!jl.phase || !jl.ticket || !dq_get_bool(line, "commit", false))
		return;
	jl.has_at = dq_time_parse(dq_get_str(line, "at"), &jl.at);
	if (!strcmp(jl.phase, "outcome"))
		json_object_object_add(j->last, jl.ticket, json_object_get(line));
	else if (!strcmp(jl.phase, "intent"))
		json_object_object_add(j->intents, jl.ticket,
		    json_object_get(line));
	dq_holdings_add(j->holdings, &jl);
}

bool
dq_journal_holding(struct dq_journal *j, const char *ticket,
    struct dq_holding *h)
{
	return dq_holding(j->holdings, ticket, h);
}

json_object *
dq_journal_last_outcome(struct dq_journal *j, const char *ticket)
{
	return dq_get(j->last, ticket);
}

json_object *
dq_journal_last_intent(struct dq_journal *j, const char *ticket)
{
	return dq_get(j->intents, ticket);
}

/* Follows one line of another process into the table of open intents. */
static void
track(struct dq_journal *j, const char *text)
{
	json_object *line = json_tokener_parse(text), *record, *holders, *h;
	const char *phase = dq_get_str(line, "phase");
	const char *run = dq_get_str(line, "run"), *ticket, *applied;
	long pid = (long)json_object_get_int64(dq_get(line, "pid"));
	json_object *finishes = dq_get(line, "finishes");
	char why[128];

	j->lines++;
	/* As for readers: a torn line is passed over, a whole line of the
	 * wrong shape stops the run. */
	if (phase && dq_get(line, "record") && bad_line(line, why, sizeof why))
		dq_die(DQ_EXIT_DATA, "%s: line %zu: %s", j->path, j->lines, why);
	track_state(j, line);
	record = dq_get(line, "record");
	ticket = line_ticket(record);
	if (!phase || !run || !ticket || pid <= 0 ||
	    !dq_get_bool(line, "commit", false)) {
		json_object_put(line);
		return;
	}
	if (!json_object_object_get_ex(j->open, ticket, &holders)) {
		holders = json_object_new_array();
		json_object_object_add(j->open, ticket, holders);
	}
	applied = dq_get_str(dq_get(record, "applied"), "outcome");
	if (!strcmp(phase, "intent")) {
		supersede(holders);
		h = json_object_new_object();
		json_object_object_add(h, "run", json_object_new_string(run));
		json_object_object_add(h, "pid", json_object_new_int64(pid));
		json_object_object_add(h, "line", json_object_get(line));
		json_object_array_add(holders, h);
	} else if (!strcmp(phase, "outcome")) {
		end_holder(holders, run, pid);
		if (finishes && dq_get_str(finishes, "run"))
			end_holder(holders, dq_get_str(finishes, "run"),
			    (long)json_object_get_int64(dq_get(finishes, "pid")));
		if (applied && (!strcmp(applied, "applied") ||
		    !strcmp(applied, "unchanged")))
			supersede(holders);
	}
	if (json_object_array_length(holders) == 0)
		json_object_object_del(j->open, ticket);
	json_object_put(line);
}

/* Reads what other processes appended since the last look, line by line
 * as for readers: a line longer than DQ_MAX_LINE stops the run, and what
 * follows the last newline (a line being written) is passed over. */
static void
catch_up(struct dq_journal *j)
{
	struct stat st;
	struct dq_buf b = { 0 };	/* the line being read */
	char chunk[65536];

	if (fstat(j->fd, &st) != 0)
		dq_die(DQ_EXIT_IO, "%s: %s", j->path, strerror(errno));
	if (st.st_size < j->offset) {	/* truncated: start over */
		json_object_put(j->open);
		dq_holdings_free(j->holdings);
		json_object_put(j->last);
		json_object_put(j->intents);
		j->open = json_object_new_object();
		j->holdings = dq_holdings_new();
		j->last = json_object_new_object();
		j->intents = json_object_new_object();
		j->offset = 0;
		j->lines = 0;
	}
	while (j->offset < st.st_size) {
		ssize_t n = pread(j->fd, chunk, sizeof chunk, j->offset);
		const char *p = chunk, *end;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			dq_die(DQ_EXIT_IO, "%s: read error%s%s", j->path,
			    n ? ": " : "", n ? strerror(errno) : "");
		j->offset += n;
		for (end = chunk + n; p < end; ) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t len = (size_t)((nl ? nl : end) - p);

			if (b.len + len + (nl != NULL) > DQ_MAX_LINE)
				dq_die(DQ_EXIT_DATA, "%s: line %zu: longer than "
				    "%d MiB", j->path, j->lines + 1,
				    DQ_MAX_LINE >> 20);
			dq_buf_add(&b, p, len);
			if (!nl)
				break;
			track(j, b.s ? b.s : "");
			b.len = 0;
			if (b.s)
				b.s[0] = '\0';
			p = nl + 1;
		}
	}
	free(b.s);
}

void
dq_journal_lock(struct dq_journal *j)
{
	while (flock(j->fd, LOCK_EX) != 0)
		if (errno != EINTR)
			dq_die(DQ_EXIT_IO, "%s: cannot lock: %s", j->path,
			    strerror(errno));
	catch_up(j);
}

bool
dq_journal_busy(struct dq_journal *j, const char *ticket, char **run,
    long *pid)
{
	json_object *holders;

	if (!json_object_object_get_ex(j->open, ticket, &holders))
		return false;
	for (size_t i = 0; i < json_object_array_length(holders); i++) {
		json_object *h = json_object_array_get_idx(holders, i);
		long p = (long)json_object_get_int64(dq_get(h, "pid"));

		if (live(j, p)) {
			*run = xstrdup(dq_get_str(h, "run"));
			*pid = p;
			return true;
		}
	}
	return false;
}

json_object *
dq_journal_unfinished(struct dq_journal *j)
{
	json_object *dead = json_object_new_array();
	struct json_object_iter it;

	json_object_object_foreachC(j->open, it) {
		const char *ticket = it.key;
		json_object *holders = it.val;
		size_t n = json_object_array_length(holders);
		json_object *last = n ? json_object_array_get_idx(holders, n - 1) :
		    NULL;
		char *run = NULL;
		long pid;

		if (!last || dq_get_bool(last, "superseded", false))
			continue;
		if (dq_journal_busy(j, ticket, &run, &pid)) {
			free(run);	/* a live run has the ticket in hand */
			continue;
		}
		json_object_array_add(dead, json_object_get(dq_get(last, "line")));
	}
	return dead;
}

static void
add_line(struct dq_journal *j, const char *phase, long seq, bool commit,
    json_object *record, json_object *finishes)
{
	json_object *line = json_object_new_object();
	char at[DQ_TIMEBUF], wall[DQ_TIMEBUF];
	size_t start = j->pending.len;

	json_object_object_add(line, "kind", json_object_new_string("journal"));
	json_object_object_add(line, "phase", json_object_new_string(phase));
	json_object_object_add(line, "run", json_object_new_string(j->run));
	json_object_object_add(line, "seq", json_object_new_int64(seq));
	json_object_object_add(line, "at", json_object_new_string(
	    dq_time_format(dq_now(), at)));
	json_object_object_add(line, "wall", json_object_new_string(
	    dq_time_format(time(NULL), wall)));
	json_object_object_add(line, "commit", json_object_new_boolean(commit));
	json_object_object_add(line, "pid", json_object_new_int64(j->pid));
	if (finishes)
		json_object_object_add(line, "finishes", finishes);
	json_object_object_add(line, "record", json_object_get(record));
	dq_buf_printf(&j->pending, "%s\n", dq_json_string(line));
	json_object_put(line);
	/* Tracked as written: the caller's record may change after. */
	line = json_tokener_parse(j->pending.s + start);
	track_state(j, line);
	json_object_put(line);
}

void
dq_journal_add(struct dq_journal *j, const char *phase, long seq,
    bool commit, json_object *record)
{
	add_line(j, phase, seq, commit, record, NULL);
}

void
dq_journal_finish(struct dq_journal *j, json_object *intent,
    json_object *record)
{
	json_object *f = json_object_new_object(), *holders;
	const char *run = dq_get_str(intent, "run");
	long pid = (long)json_object_get_int64(dq_get(intent, "pid"));

	json_object_object_add(f, "run", json_object_new_string(run ? run : ""));
	json_object_object_add(f, "pid", json_object_new_int64(pid));
	json_object_object_add(f, "seq", json_object_get(dq_get(intent, "seq")));
	add_line(j, "outcome", 0, true, record, f);
	if (json_object_object_get_ex(j->open, line_ticket(record), &holders)) {
		end_holder(holders, run ? run : "", pid);
		if (json_object_array_length(holders) == 0)
			json_object_object_del(j->open, line_ticket(record));
	}
}

static void
write_all(struct dq_journal *j, const char *s, size_t len)
{
	while (len > 0) {
		ssize_t n = write(j->fd, s, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			dq_die(DQ_EXIT_IO, "%s: %s", j->path, strerror(errno));
		s += n;
		len -= (size_t)n;
	}
}

void
dq_journal_sync(struct dq_journal *j)
{
	struct stat st;
	char last;

	if (j->pending.len) {
		/* A crash mid-line left the file without its newline: end
		 * that line, so that ours stays whole. */
		if (fstat(j->fd, &st) != 0)
			dq_die(DQ_EXIT_IO, "%s: %s", j->path, strerror(errno));
		if (st.st_size > 0 && pread(j->fd, &last, 1, st.st_size - 1) == 1 &&
		    last != '\n') {
			char *s = dq_buf_take(&j->pending);

			dq_buf_printf(&j->pending, "\n%s", s);
			free(s);
		}
		write_all(j, j->pending.s, j->pending.len);
		if (fsync(j->fd) != 0)
			dq_die(DQ_EXIT_IO, "%s: %s", j->path, strerror(errno));
		/* Under the lock nobody else wrote: our lines need no reading. */
		j->offset = st.st_size + (off_t)j->pending.len;
		for (size_t i = 0; i < j->pending.len; i++)
			j->lines += j->pending.s[i] == '\n';
		free(dq_buf_take(&j->pending));
	}
}

void
dq_journal_unlock(struct dq_journal *j)
{
	dq_journal_sync(j);
	flock(j->fd, LOCK_UN);
}

void
dq_journal_append(struct dq_journal *j, const char *phase, long seq,
    bool commit, json_object *record)
{
	dq_journal_lock(j);
	dq_journal_add(j, phase, seq, commit, record);
	dq_journal_unlock(j);
}
