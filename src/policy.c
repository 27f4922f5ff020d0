/* policy.c: every setting is a long option and a policy-file key.
 *
 * One table describes the settings of all dq programs, so a shared policy
 * file can serve every stage: a program applies the keys it uses, ignores
 * the keys another program uses, and rejects a key no program knows. */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dq.h"

struct dq_policy dq_policy = {
	.max_active = -1,
	.candidates = 10,
	.auto_dispatch = true,
	.auto_start = true,
	.retry = true,
	.mode = DQ_MODE_ROUND_ROBIN,
	.slot_minutes = 30,
	.buffer_minutes = 10,
	.lead_minutes = 10,
	.horizon_hours = 24,
	.round_minutes = 5,
	.history_half_life_days = 90,
	.history_days = 30,
	.parallel = 8,
	.connect_timeout = 15,
	.max_time = 120,
	.retries = 5,
};

/* OPT_STR is a string or a file name (a file whose content bears on the
 * decisions, like rules or pods, is hashed into the config digest by the
 * program that reads it); OPT_ZONE is an IANA zone name. OPT_ACTION is a
 * thing to do, named on the command line only: it takes no value and has
 * no --no- form, so "--no-approve 501" is a usage error rather than a
 * dry run of a file named 501. */
enum opt_type {
	OPT_BOOL, OPT_INT, OPT_LIST, OPT_STR, OPT_TIME, OPT_MODE, OPT_ZONE,
	OPT_ACTION, OPT_SPECIAL
};

#define ALL (DQ_FETCH | DQ_WATCH | DQ_ELIGIBLE | DQ_PICK | DQ_SCHEDULE | DQ_APPLY)
/* dq-explain reads no clock: it takes the common options but --now. */
#define ALL_EXPLAIN (ALL | DQ_EXPLAIN)

struct opt {
	const char *name;
	int letter;
	enum opt_type type;
	unsigned progs;
	void *value;
	long min, max;
	const char *arg;
	const char *help;
};

/* The values of the settings that take one of a few words. */
static const char *const formats[] = { "table", "ndjson", "csv", NULL };
static const char *const targets[] = { "connectwise", "webhook", "none",
	NULL };
static const char *const mode_slugs[] = {
	"manual", "default-team", "round-robin", "priority-match",
	"capability-match", "least-active", "earliest-slot", NULL
};
/* --help lists each one's words after its description, and the shells'
 * completions read them from there. */
static const struct {
	const void *value;
	const char *const *choices;
} limited[] = {
	{ &dq_policy.format, formats },
	{ &dq_policy.mode, mode_slugs },
	{ &dq_policy.target, targets },
};

/* The lists a repeatable option starts with; the first value the policy
 * file or the command line gives replaces it. */
static const struct {
	struct dq_strlist *list;
	const char *const *values;
} list_defaults[] = {
	/* DESIGN §5: these In/Out types mean working, somewhere else. */
	{ &dq_policy.available_in_out, (const char *const[]){
	  "Working Remotely", "Remote", "Work From Home", NULL } },
};
#define NDEFAULTS (sizeof list_defaults / sizeof list_defaults[0])
static bool list_defaulted[NDEFAULTS];

/* Sorted by name, the order --help lists them in. */
static const struct opt opts[] = {
	{ "ack", 0, OPT_ACTION, DQ_APPLY, &dq_policy.ack, 0, 0, NULL,
	  "record that the agents of the operand tickets acknowledged them" },
	{ "ack-seconds", 0, OPT_INT, DQ_WATCH, &dq_policy.ack_seconds,
	  0, 604800, "N", "report assigned work not acknowledged within N seconds "
	  "(0: never)" },
	{ "approve", 0, OPT_ACTION, DQ_APPLY, &dq_policy.approve, 0, 0, NULL,
	  "approve the operand tickets' held webhooks" },
	{ "auto-dispatch", 0, OPT_BOOL, DQ_ELIGIBLE | DQ_APPLY,
	  &dq_policy.auto_dispatch, 0, 0, NULL,
	  "the master toggle; no: dispatch nothing, write nothing" },
	{ "auto-start", 0, OPT_BOOL, DQ_APPLY, &dq_policy.auto_start, 0, 0,
	  NULL, "send the webhook when assigned (no: defer it to --start)" },
	{ "available-in-out", 0, OPT_LIST, DQ_FETCH, &dq_policy.available_in_out,
	  0, 0, "TYPE", "In/Out entries of TYPE are no absence (repeatable; "
	  "default Working Remotely, Remote, Work From Home)" },
	{ "backfill", 0, OPT_BOOL, DQ_SCHEDULE, &dq_policy.backfill, 0, 0, NULL,
	  "also book owned tickets that no calendar entry names" },
	{ "board", 'b', OPT_LIST, DQ_FETCH | DQ_WATCH | DQ_ELIGIBLE,
	  &dq_policy.boards, 0, 0, "NAME",
	  "dispatch tickets on board NAME (repeatable)" },
	{ "buffer-minutes", 0, OPT_INT, DQ_PICK | DQ_SCHEDULE,
	  &dq_policy.buffer_minutes, 0, 480, "N",
	  "keep N minutes between booked slots (default 10)" },
	{ "ca-file", 0, OPT_STR, DQ_FETCH | DQ_APPLY, &dq_policy.ca_file,
	  0, 0, "FILE", "trust the CA certificates in FILE (self-hosted PSA)" },
	{ "candidates", 0, OPT_INT, DQ_PICK, &dq_policy.candidates, 0, 1000000,
	  "N", "list the best N candidates in each decision (default 10; 0: all)" },
	{ "commit", 0, OPT_BOOL, DQ_APPLY, &dq_policy.commit, 0, 0, NULL,
	  "really write to the PSA and the journal (command line only)" },
	{ "company", 'c', OPT_LIST, DQ_ELIGIBLE, &dq_policy.companies,
	  0, 0, "NAME", "dispatch only tickets of company NAME (repeatable)" },
	{ "connect-timeout", 0, OPT_INT, DQ_FETCH | DQ_APPLY,
	  &dq_policy.connect_timeout, 1, 600, "SECONDS",
	  "give up connecting after SECONDS (default 15)" },
	{ "connectwise", 0, OPT_BOOL, DQ_FETCH, &dq_policy.connectwise, 0, 0,
	  NULL, "read from ConnectWise Manage (DQ_CW_* or --credentials)" },
	{ "credentials", 0, OPT_STR, DQ_FETCH | DQ_APPLY, &dq_policy.credentials,
	  0, 0, "FILE", "PSA credentials file, readable only by its owner "
	  "(also DQ_CW_CREDENTIALS)" },
	{ "csv-members", 0, OPT_STR, DQ_FETCH, &dq_policy.csv_members, 0, 0,
	  "FILE", "read members from the CSV FILE (with --csv-tickets)" },
	{ "csv-tickets", 0, OPT_STR, DQ_FETCH, &dq_policy.csv_tickets, 0, 0,
	  "FILE", "read tickets from the CSV FILE" },
	{ "drop", 0, OPT_BOOL, DQ_ELIGIBLE, &dq_policy.drop, 0, 0, NULL,
	  "remove skipped tickets instead of marking them" },
	{ "exclude-company", 'x', OPT_LIST, DQ_ELIGIBLE,
	  &dq_policy.exclude_companies, 0, 0, "NAME",
	  "never dispatch tickets of company NAME (repeatable)" },
	{ "format", 0, OPT_STR, DQ_APPLY, &dq_policy.format, 0, 0, "FORMAT",
	  "how to show the decisions (default: table on a terminal, "
	  "else ndjson)" },
	{ "from", 0, OPT_STR, DQ_FETCH, &dq_policy.from, 0, 0, "FILE",
	  "read an NDJSON snapshot from FILE (- for stdin)" },
	{ "help", 'h', OPT_SPECIAL, ALL_EXPLAIN, NULL, 0, 0, NULL,
	  "show this help and exit" },
	{ "history-days", 0, OPT_INT, DQ_FETCH, &dq_policy.history_days,
	  0, 3650, "N", "fetch tickets closed in the last N days (default 30; "
	  "0 skips)" },
	{ "history-half-life-days", 0, OPT_INT, DQ_PICK,
	  &dq_policy.history_half_life_days, 1, 3650, "N",
	  "history counts half as much every N days (default 90)" },
	{ "horizon-hours", 0, OPT_INT,
	  DQ_FETCH | DQ_ELIGIBLE | DQ_PICK | DQ_SCHEDULE,
	  &dq_policy.horizon_hours, 1, 168, "N",
	  "book no slot starting more than N hours ahead (default 24)" },
	{ "idle-minutes", 0, OPT_INT, DQ_WATCH, &dq_policy.idle_minutes,
	  0, 525600, "N", "mark agents unseen for N minutes OFFLINE (0: never)" },
	{ "inactive-status", 'i', OPT_LIST, DQ_ELIGIBLE | DQ_PICK,
	  &dq_policy.inactive_statuses, 0, 0, "NAME",
	  "open tickets in status NAME are not active work (repeatable)" },
	{ "journal", 'j', OPT_LIST, DQ_FETCH | DQ_WATCH | DQ_ELIGIBLE | DQ_PICK |
	  DQ_APPLY | DQ_EXPLAIN,
	  &dq_policy.journals, 0, 0, "FILE",
	  "the journal (repeatable, to read rotated files)" },
	{ "lead-minutes", 0, OPT_INT, DQ_PICK | DQ_SCHEDULE,
	  &dq_policy.lead_minutes, 0, 1440, "N",
	  "start no slot sooner than N minutes from now (default 10)" },
	{ "max-active", 'a', OPT_INT, DQ_ELIGIBLE | DQ_PICK,
	  &dq_policy.max_active, 0, 1000000, "N",
	  "at most N active tickets a member (0: no cap; overrides max_concurrent)" },
	{ "max-time", 0, OPT_INT, DQ_FETCH | DQ_APPLY, &dq_policy.max_time,
	  1, 86400, "SECONDS", "stop a request after SECONDS (default 120)" },
	{ "member", 0, OPT_STR, DQ_EXPLAIN, &dq_policy.member, 0, 0, "ID",
	  "say what happened to member ID on the ticket" },
	{ "mode", 'm', OPT_MODE, DQ_ELIGIBLE | DQ_PICK, &dq_policy.mode, 0, 0, "MODE",
	  "how to choose the owner (default round-robin)" },
	{ "note", 0, OPT_BOOL, DQ_APPLY, &dq_policy.note, 0, 0, NULL,
	  "post an internal note on each ticket explaining the decision" },
	{ "now", 'n', OPT_TIME, ALL, &dq_policy.now, 0, 0, "TIME",
	  "act as if it were TIME (RFC 3339; also DQ_NOW)" },
	{ "once", 0, OPT_BOOL, DQ_ELIGIBLE, &dq_policy.once, 0, 0, NULL,
	  "skip tickets the journal shows dq applied (with --journal)" },
	{ "parallel", 0, OPT_INT, DQ_FETCH | DQ_APPLY, &dq_policy.parallel,
	  1, 64, "N", "at most N requests in flight (default 8)" },
	{ "pending", 0, OPT_ACTION, DQ_APPLY, &dq_policy.pending, 0, 0, NULL,
	  "list the agents' assignments waiting for approval or start" },
	{ "pods", 0, OPT_STR, DQ_ELIGIBLE | DQ_PICK | DQ_SCHEDULE,
	  &dq_policy.pods_file, 0, 0, "FILE",
	  "the pods CSV: pod members, customers and hours (dq-pods(5))" },
	{ "policy", 'p', OPT_SPECIAL, ALL_EXPLAIN, NULL, 0, 0, "FILE",
	  "read options from FILE (also DQ_POLICY)" },
	{ "queue-stall-minutes", 0, OPT_INT, DQ_WATCH,
	  &dq_policy.queue_stall_minutes, 0, 525600, "N",
	  "report tickets queued N minutes with nobody on them (0: never)" },
	{ "quiet", 'q', OPT_BOOL, ALL_EXPLAIN, &dq_policy.quiet, 0, 0, NULL,
	  "do not print warnings" },
	{ "redispatch-on-noack", 0, OPT_BOOL, DQ_WATCH,
	  &dq_policy.redispatch_on_noack, 0, 0, NULL,
	  "clear unacknowledged assignments for re-dispatch" },
	{ "redispatch-on-stall", 0, OPT_BOOL, DQ_WATCH,
	  &dq_policy.redispatch_on_stall, 0, 0, NULL,
	  "clear stalled assignments for re-dispatch" },
	{ "reject", 0, OPT_ACTION, DQ_APPLY, &dq_policy.reject, 0, 0, NULL,
	  "reject the operand tickets' held assignments" },
	{ "require-approval", 0, OPT_BOOL, DQ_APPLY,
	  &dq_policy.require_approval, 0, 0, NULL,
	  "hold each webhook until dq-apply --approve" },
	{ "retries", 0, OPT_INT, DQ_FETCH | DQ_APPLY, &dq_policy.retries, 0, 20,
	  "N", "retry a transient failure N times (default 5)" },
	{ "retry", 0, OPT_BOOL, DQ_ELIGIBLE, &dq_policy.retry, 0, 0, NULL,
	  "try tickets left unassigned again (no: --once settles them too)" },
	{ "round-minutes", 0, OPT_INT, DQ_PICK | DQ_SCHEDULE,
	  &dq_policy.round_minutes, 1, 60, "N",
	  "start slots on multiples of N minutes (default 5)" },
	{ "rules", 0, OPT_STR, DQ_PICK, &dq_policy.rules_file, 0, 0, "FILE",
	  "apply the SOP rules in FILE before the mode (dq-rules(5))" },
	{ "rules-tz", 0, OPT_ZONE, DQ_PICK, &dq_policy.rules_tz, 0, 0, "ZONE",
	  "read the rules' hour and weekday in ZONE (default UTC)" },
	{ "slot-minutes", 0, OPT_INT, DQ_PICK | DQ_SCHEDULE,
	  &dq_policy.slot_minutes, 1, 480, "N",
	  "book N minutes a ticket (default 30, at most 480)" },
	{ "stall-minutes", 0, OPT_INT, DQ_WATCH, &dq_policy.stall_minutes,
	  0, 525600, "N", "report assigned work with no progress for N minutes "
	  "(0: never)" },
	{ "start", 0, OPT_ACTION, DQ_APPLY, &dq_policy.start, 0, 0, NULL,
	  "send the operand tickets' deferred webhooks" },
	{ "status-after", 0, OPT_STR, DQ_APPLY, &dq_policy.status_after, 0, 0,
	  "NAME", "set the status of each ticket given an owner to NAME" },
	{ "team-status-after", 0, OPT_STR, DQ_APPLY,
	  &dq_policy.team_status_after, 0, 0, "NAME",
	  "set the status of each ticket given only a team to NAME" },
	{ "target", 0, OPT_STR, DQ_APPLY, &dq_policy.target, 0, 0, "TARGET",
	  "where decisions go (default connectwise)" },
	{ "ticket", 't', OPT_LIST, DQ_FETCH, &dq_policy.tickets, 0, 0, "ID",
	  "fetch just ticket ID (repeatable)" },
	{ "trigger-status", 's', OPT_LIST, DQ_FETCH | DQ_WATCH | DQ_ELIGIBLE,
	  &dq_policy.trigger_statuses, 0, 0, "NAME",
	  "dispatch tickets in status NAME (repeatable)" },
	{ "tz", 0, OPT_ZONE, DQ_APPLY, &dq_policy.tz, 0, 0, "ZONE",
	  "table slot times in ZONE (default: local)" },
	{ "verbose", 'v', OPT_BOOL, DQ_FETCH | DQ_APPLY, &dq_policy.verbose,
	  0, 0, NULL, "log each PSA request to stderr" },
	{ "version", 'V', OPT_SPECIAL, ALL_EXPLAIN, NULL, 0, 0, NULL,
	  "show the version and exit" },
	{ "webhook-secret-file", 0, OPT_STR, DQ_APPLY,
	  &dq_policy.webhook_secret_file, 0, 0, "FILE",
	  "sign webhooks with the secret in FILE (else DQ_WEBHOOK_SECRET)" },
	{ "working-now", 'w', OPT_BOOL, DQ_ELIGIBLE, &dq_policy.working_now,
	  0, 0, NULL, "exclude members outside their working hours now" },
	{ "zone-map", 0, OPT_STR, DQ_FETCH, &dq_policy.zone_map, 0, 0, "FILE",
	  "IANA zones for PSA time zone setups or Windows ids" },
};

#define NOPTS (sizeof opts / sizeof opts[0])

static const char *const mode_names[] = {
	"MANUAL_ONLY", "DEFAULT_TEAM", "ROUND_ROBIN", "PRIORITY_MATCH",
	"CAPABILITY_MATCH", "LEAST_ACTIVE", "EARLIEST_SLOT",
};
static size_t
count(const char *const *choices)
{
	size_t n = 0;

	while (choices[n])
		n++;
	return n;
}

const char *
dq_mode_name(enum dq_mode m)
{
	return mode_names[m];
}

const char *
dq_mode_slug(enum dq_mode m)
{
	return mode_slugs[m];
}

bool
dq_mode_parse(const char *s, enum dq_mode *out)
{
	for (size_t i = 0; mode_slugs[i]; i++) {
		if (strcasecmp(s, mode_slugs[i]) == 0 ||
		    strcasecmp(s, mode_names[i]) == 0 ||
		    (i == DQ_MODE_MANUAL && strcasecmp(s, "manual-only") == 0)) {
			*out = (enum dq_mode)i;
			return true;
		}
	}
	return false;
}

const char *
dq_mode_hint(const char *s)
{
	return dq_did_you_mean(s, mode_slugs, count(mode_slugs), true);
}

static const struct opt *
find_opt(const char *name)
{
	for (size_t i = 0; i < NOPTS; i++)
		if (strcmp(opts[i].name, name) == 0)
			return &opts[i];
	return NULL;
}

/* The name of the option of progs that word most likely misspells, a
 * "no-" kept; NULL when none is near. A static buffer. */
static const char *
nearest_opt(const char *word, unsigned progs)
{
	static char buf[80];
	const char *names[NOPTS], *near;
	bool negated = strncmp(word, "no-", 3) == 0;
	size_t n = 0;

	for (size_t i = 0; i < NOPTS; i++)
		if ((opts[i].progs & progs) &&
		    (!negated || opts[i].type == OPT_BOOL))
			names[n++] = opts[i].name;
	if (!(near = dq_nearest(negated ? word + 3 : word, names, n)))
		return NULL;
	snprintf(buf, sizeof buf, "%s%s", negated ? "no-" : "", near);
	return buf;
}

/* The programs of progs, "dq-fetch or dq-apply"; a static buffer. */
static const char *
prog_names(unsigned progs)
{
	static const char *const names[] = { "dq-fetch", "dq-watch",
		"dq-eligible", "dq-pick", "dq-schedule", "dq-apply",
		"dq-explain" };
	const char *of[sizeof names / sizeof names[0]];
	size_t n = 0;

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (progs & 1u << i)
			of[n++] = names[i];
	return dq_choice_list(of, n);
}

static bool
parse_bool(const char *s, bool *out)
{
	if (!strcmp(s, "yes") || !strcmp(s, "true") || !strcmp(s, "on")) {
		*out = true;
		return true;
	}
	if (!strcmp(s, "no") || !strcmp(s, "false") || !strcmp(s, "off")) {
		*out = false;
		return true;
	}
	return false;
}

static const char *const *
choices_of(const struct opt *o)
{
	for (size_t i = 0; i < sizeof limited / sizeof limited[0]; i++)
		if (limited[i].value == o->value)
			return limited[i].choices;
	return NULL;
}

static bool
one_of(const char *const *choices, const char *val)
{
	for (; *choices; choices++)
		if (!strcmp(*choices, val))
			return true;
	return false;
}

/* Applies one value; on error returns a message. */
static const char *
apply(const struct opt *o, const char *val, bool negated)
{
	static char msg[256];
	char *end;
	long n;

	switch (o->type) {
	case OPT_BOOL:
		if (!val) {
			*(bool *)o->value = !negated;
			return NULL;
		}
		if (negated || !parse_bool(val, o->value)) {
			snprintf(msg, sizeof msg, "--%s: expected yes or no, not \"%s\"",
			    o->name, dq_excerpt(val));
			return msg;
		}
		return NULL;
	case OPT_INT:
		errno = 0;
		n = strtol(val, &end, 10);
		if (errno || end == val || *end || n < o->min || n > o->max) {
			snprintf(msg, sizeof msg, "--%s: expected a whole number "
			    "from %ld to %ld, not \"%s\"", o->name, o->min, o->max,
			    dq_excerpt(val));
			return msg;
		}
		*(long *)o->value = n;
		return NULL;
	case OPT_LIST:
		for (size_t i = 0; i < NDEFAULTS; i++)
			if (list_defaults[i].list == o->value && list_defaulted[i]) {
				dq_strlist_clear(o->value);
				list_defaulted[i] = false;
			}
		dq_strlist_add(o->value, val);
		return NULL;
	case OPT_TIME:
		if (!dq_time_parse(val, o->value)) {
			snprintf(msg, sizeof msg, "--%s: expected an RFC 3339 time "
			    "like 2026-11-21T14:10:00Z, not \"%s\"", o->name,
			    dq_excerpt(val));
			return msg;
		}
		if (o->value == &dq_policy.now)
			dq_policy.now_set = true;
		return NULL;
	case OPT_MODE:
		if (!dq_mode_parse(val, o->value)) {
			snprintf(msg, sizeof msg, "--mode: unknown mode \"%s\"%s",
			    dq_excerpt(val), dq_mode_hint(val));
			return msg;
		}
		return NULL;
	case OPT_ZONE:
		if (!dq_zone_valid(val)) {
			snprintf(msg, sizeof msg, "--%s: unknown time zone \"%s\"",
			    o->name, dq_excerpt(val));
			return msg;
		}
		/* FALLTHROUGH */
	case OPT_STR:
		if (choices_of(o) && !one_of(choices_of(o), val)) {
			const char *const *c = choices_of(o);

			snprintf(msg, sizeof msg, "--%s: expected %s, not \"%s\"%s",
			    o->name, dq_choice_list(c, count(c)), dq_excerpt(val),
			    dq_did_you_mean(val, c, count(c), false));
			return msg;
		}
		/* Copied: a policy file's line buffer is reused. */
		free(*(char **)o->value);
		*(char **)o->value = xstrdup(val);
		return NULL;
	case OPT_ACTION:
		*(bool *)o->value = true;
		return NULL;
	case OPT_SPECIAL:
		break;
	}
	return NULL;
}

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* A value may be double-quoted, with \" and \\ inside. */
static bool
unquote(char *s)
{
	char *w = s;

	if (*s != '"')
		return true;
	for (char *r = s + 1; *r; r++) {
		if (*r == '\\' && (r[1] == '"' || r[1] == '\\')) {
			*w++ = *++r;
		} else if (*r == '"') {
			*w = '\0';
			return *trim(r + 1) == '\0';
		} else {
			*w++ = *r;
		}
	}
	return false;
}

/* Splits a line in place. False for a blank or comment line; *val is
 * NULL when a quote is left open. */
static bool
config_line(char *line, char **keyp, char **valp)
{
	char *key = trim(line), *val;

	if (*key == '\0' || *key == '#')
		return false;
	if (key[0] == '-' && key[1] == '-')
		key += 2;
	val = key + strcspn(key, " \t=:");
	if (*val) {
		*val++ = '\0';
		val = trim(val);
		if (*val == '=' || *val == ':')
			val = trim(val + 1);
	}
	*keyp = key;
	*valp = unquote(val) ? val : NULL;
	return true;
}

void
dq_config_read(FILE *fp, const char *path, dq_config_fn fn, void *arg)
{
	char *line = NULL, *key, *val;
	size_t cap = 0, lineno = 0, size = 0;
	ssize_t n;

	while ((n = dq_getline(&line, &cap, fp, DQ_MAX_CONFIG)) != -1) {
		if (n == DQ_LINE_TOO_LONG || (size += (size_t)n) > DQ_MAX_CONFIG)
			dq_die(DQ_EXIT_CONFIG, "%s: larger than %d MiB", path,
			    DQ_MAX_CONFIG >> 20);
		lineno++;
		if (!config_line(line, &key, &val))
			continue;
		if (!val)
			dq_die(DQ_EXIT_CONFIG, "%s: line %zu: unterminated quote",
			    path, lineno);
		fn(path, lineno, key, val, arg);
	}
	if (line)
		explicit_bzero(line, cap);
	free(line);
}

/* One key of a policy file, for the program prog points at. */
static void
policy_key(const char *path, size_t lineno, const char *key, const char *val,
    void *arg)
{
	unsigned prog = *(unsigned *)arg;
	const struct opt *o;
	const char *err, *slash, *near;
	bool negated = false;

	o = find_opt(key);
	if (!o && strncmp(key, "no-", 3) == 0 && (o = find_opt(key + 3)) &&
	    o->type == OPT_BOOL)
		negated = true;
	if (!o && (near = nearest_opt(key, ALL)))
		dq_die(DQ_EXIT_CONFIG, "%s: line %zu: unknown key \"%s\"; did "
		    "you mean \"%s\"?", path, lineno, dq_excerpt(key), near);
	if (!o)
		dq_die(DQ_EXIT_CONFIG, "%s: line %zu: unknown key \"%s\" (the "
		    "keys are listed in dq-policy(5))", path, lineno,
		    dq_excerpt(key));
	/* --commit too: a shared policy never turns a dry run into writes;
	 * nor does it approve, reject, start or ack. */
	if (o->type == OPT_SPECIAL || o->type == OPT_ACTION ||
	    o->value == &dq_policy.commit)
		dq_die(DQ_EXIT_CONFIG, "%s: line %zu: \"%s\" belongs on the "
		    "command line", path, lineno, key);
	if (!(o->progs & prog))
		return;		/* another program's key */
	if (*val == '\0' && o->type != OPT_BOOL)
		dq_die(DQ_EXIT_CONFIG, "%s: line %zu: %s needs a value",
		    path, lineno, key);
	if (o->arg && !strcmp(o->arg, "FILE") && *val != '/' &&
	    strcmp(val, "-") && (slash = strrchr(path, '/'))) {
		/* A file named in a policy file is found beside it, so a
		 * policy and its rules travel together. */
		char *beside = dq_asprintf("%.*s/%s", (int)(slash - path),
		    path, val);

		err = apply(o, beside, negated);
		free(beside);
	} else
		err = apply(o, *val ? val : NULL, negated);
	if (err)
		dq_die(DQ_EXIT_CONFIG, "%s: line %zu: %s", path, lineno, err);
}

static void
load_file(const char *path, unsigned prog)
{
	FILE *fp = fopen(path, "r");
	struct stat st;

	if (!fp)
		dq_die(DQ_EXIT_NOINPUT, "%s: %s", path, strerror(errno));
	/* A directory opens, and reads as nothing: an empty policy that
	 * would dispatch everything with no filter. */
	if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode))
		dq_die(DQ_EXIT_NOINPUT, "%s: is a directory, not a policy file",
		    path);
	dq_config_read(fp, path, policy_key, &prog);
	fclose(fp);
}

char *
dq_config_path(const char *name)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	char *path = NULL;

	/* The XDG base directory rule: a relative XDG_CONFIG_HOME is
	 * ignored, and HOME's .config stands in. */
	if (xdg && *xdg == '/')
		path = dq_asprintf("%s/dq/%s", xdg, name);
	else if (home && *home)
		path = dq_asprintf("%s/.config/dq/%s", home, name);
	if (path && access(path, F_OK) == 0)
		return path;
	free(path);
	path = dq_asprintf("/etc/dq/%s", name);
	if (access(path, F_OK) == 0)
		return path;
	free(path);
	return NULL;
}

/* An unknown option names the one meant, or the program it belongs to. */
static _Noreturn void
unknown_option(unsigned prog, int letter, const char *arg)
{
	char name[80];
	const struct opt *o;
	const char *near;

	if (letter)
		dq_usage("unknown option -%c", letter);
	snprintf(name, sizeof name, "%.*s", (int)strcspn(arg + 2, "="),
	    arg + 2);
	if (strncmp(arg, "--", 2) == 0 && ((o = find_opt(name)) ||
	    (strncmp(name, "no-", 3) == 0 && (o = find_opt(name + 3)))) &&
	    !(o->progs & prog))
		dq_usage("unknown option %s (an option of %s)", arg,
		    prog_names(o->progs));
	if (strncmp(arg, "--", 2) == 0 && (near = nearest_opt(name, prog)))
		dq_usage("unknown option %s; did you mean --%s?", arg, near);
	dq_usage("unknown option %s", arg);
}

/* The option's names in a column of 35, the description beside them in
 * lines of at most 79 characters, broken between words. */
enum { HELP_INDENT = 35, HELP_WIDTH = 79 };

static void
help_option(const struct opt *o)
{
	const char *const *choices = choices_of(o);
	char names[64], *text, *word, *save;
	int col;

	snprintf(names, sizeof names, "--%s%s%s%s",
	    o->type == OPT_BOOL ? "[no-]" : "", o->name,
	    o->arg ? " " : "", o->arg ? o->arg : "");
	if (o->letter)
		col = printf("  -%c, %-28s", o->letter, names);
	else
		col = printf("      %-28s", names);
	text = choices ? dq_asprintf("%s: %s", o->help,
	    dq_choice_list(choices, count(choices))) :
	    xstrdup(o->help);
	for (word = strtok_r(text, " ", &save); word;
	    word = strtok_r(NULL, " ", &save)) {
		if (col > HELP_INDENT &&
		    col + 1 + (int)strlen(word) > HELP_WIDTH)
			col = printf("\n%*s", HELP_INDENT - 1, "") - 1;
		col += printf(" %s", word);
	}
	putchar('\n');
	free(text);
}

static void
help(unsigned prog, const char *synopsis, const char *summary)
{
	printf("usage: %s %s\n%s\n\n", dq_progname, synopsis, summary);
	for (size_t i = 0; i < NOPTS; i++)
		if (opts[i].progs & prog)
			help_option(&opts[i]);
	printf("\nSee %s(1) and dq(7).\n", dq_progname);
}

enum { LONG_BASE = 256, NEG_BASE = 512 };

/* The names of the --no-X forms, which getopt_long reads from here. */
static char negnames[NOPTS][64];

int
dq_policy_load(int argc, char **argv, unsigned prog, const char *synopsis,
    const char *summary)
{
	struct option longopts[2 * NOPTS + 1];
	char shortopts[3 * NOPTS + 3];
	bool cli_list[NOPTS] = { false };
	const char *policy = getenv("DQ_POLICY"), *env_now = getenv("DQ_NOW");
	const char *err;
	char *found;
	size_t nl = 0, ns = 0;
	int c;

	dq_setprogname(argv[0]);
	for (size_t i = 0; i < NDEFAULTS; i++) {
		for (const char *const *v = list_defaults[i].values; *v; v++)
			dq_strlist_add(list_defaults[i].list, *v);
		list_defaulted[i] = true;
	}
	/* A parent may hand SIGPIPE down ignored; a filter must die of it. */
	signal(SIGPIPE, SIG_DFL);
	/* "-" for the first pass only: it leaves the operands where they
	 * are, so that "--auto-dispatch no" still reads "no" in the second. */
	shortopts[ns++] = '-';
	shortopts[ns++] = ':';
	for (size_t i = 0; i < NOPTS; i++) {
		const struct opt *o = &opts[i];

		if (!(o->progs & prog))
			continue;
		longopts[nl++] = (struct option){ o->name,
		    o->type == OPT_BOOL ? optional_argument :
		    o->arg ? required_argument : no_argument, NULL,
		    LONG_BASE + (int)i };
		if (o->type == OPT_BOOL)
			longopts[nl++] = (struct option){ NULL, no_argument,
			    NULL, NEG_BASE + (int)i };
		if (o->letter) {
			shortopts[ns++] = (char)o->letter;
			if (o->arg)
				shortopts[ns++] = ':';
		}
	}
	longopts[nl] = (struct option){ 0 };
	shortopts[ns] = '\0';
	for (size_t i = 0; i < nl; i++) {
		if (longopts[i].name == NULL) {
			int idx = longopts[i].val - NEG_BASE;

			snprintf(negnames[idx], sizeof negnames[idx], "no-%s",
			    opts[idx].name);
			longopts[i].name = negnames[idx];
		}
	}

	/* First pass: --help, --version and --policy, which decide what the
	 * second pass reads on top of. */
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		int idx = c >= LONG_BASE && c < NEG_BASE ? c - LONG_BASE : -1;

		for (size_t i = 0; idx < 0 && c < LONG_BASE && i < NOPTS; i++)
			if (opts[i].letter == c && (opts[i].progs & prog))
				idx = (int)i;
		if (idx < 0)
			continue;
		if (!strcmp(opts[idx].name, "help")) {
			help(prog, synopsis, summary);
			exit(dq_close_stdout(0));
		}
		if (!strcmp(opts[idx].name, "version")) {
			printf("%s (%s) %s\n", dq_progname, PACKAGE_NAME, PACKAGE_VERSION);
			exit(dq_close_stdout(0));
		}
		if (!strcmp(opts[idx].name, "policy"))
			policy = optarg;
	}
	if (!policy && (found = dq_config_path("policy"))) {
		load_file(found, prog);
		free(found);
	} else if (policy && *policy) {
		load_file(policy, prog);
	}
	if (env_now && *env_now && !dq_policy.now_set) {
		if (!dq_time_parse(env_now, &dq_policy.now))
			dq_usage("DQ_NOW: expected an RFC 3339 time, not \"%s\"",
			    env_now);
		dq_policy.now_set = true;
	}

	optind = 0;
	while ((c = getopt_long(argc, argv, shortopts + 1, longopts, NULL)) != -1) {
		const struct opt *o = NULL;
		const char *val = optarg;
		bool negated = false;

		if (c == '?') {
			/* A value given to an option that takes none. */
			if (optopt >= NEG_BASE)
				dq_usage("option --no-%s takes no value",
				    opts[optopt - NEG_BASE].name);
			if (optopt >= LONG_BASE)
				dq_usage("option --%s takes no value",
				    opts[optopt - LONG_BASE].name);
			unknown_option(prog, optopt, argv[optind - 1]);
		}
		if (c == ':')
			dq_usage("option %s needs a value", argv[optind - 1]);
		if (c >= NEG_BASE) {
			o = &opts[c - NEG_BASE];
			negated = true;
		} else if (c >= LONG_BASE) {
			o = &opts[c - LONG_BASE];
		} else {
			for (size_t i = 0; i < NOPTS; i++)
				if (opts[i].letter == c && (opts[i].progs & prog))
					o = &opts[i];
		}
		if (o->type == OPT_SPECIAL)
			continue;
		/* "--auto-dispatch no" reads like the policy file's form. */
		if (o->type == OPT_BOOL && !val && !negated && optind < argc) {
			bool ignored;

			if (parse_bool(argv[optind], &ignored))
				val = argv[optind++];
		}
		if (o->type == OPT_LIST && !cli_list[o - opts]) {
			/* The command line's list replaces the file's. */
			dq_strlist_clear(o->value);
			cli_list[o - opts] = true;
		}
		if ((err = apply(o, val, negated)))
			dq_usage("%s", err);
	}
	return optind;
}

static void
digest_line(struct dq_sha256 *c, const char *key, const char *val)
{
	dq_sha256_update(c, key, strlen(key));
	dq_sha256_update(c, "=", 1);
	dq_sha256_update(c, val, strlen(val));
	dq_sha256_update(c, "\n", 1);
}

const char *
dq_policy_digest(unsigned prog, const char *extra, size_t extralen)
{
	static char out[7 + 65];
	struct dq_sha256 c;
	unsigned char md[32];
	char num[32];

	dq_sha256_init(&c);
	for (size_t i = 0; i < NOPTS; i++) {
		const struct opt *o = &opts[i];

		/* Settings that change no decision stay out of the digest. */
		if (!(o->progs & prog) || o->type == OPT_SPECIAL ||
		    o->type == OPT_TIME || o->value == &dq_policy.quiet ||
		    o->value == &dq_policy.connect_timeout ||
		    o->value == &dq_policy.max_time ||
		    o->value == &dq_policy.retries || o->value == &dq_policy.tz)
			continue;
		switch (o->type) {
		case OPT_BOOL:
			digest_line(&c, o->name, *(bool *)o->value ? "yes" : "no");
			break;
		case OPT_INT:
			snprintf(num, sizeof num, "%ld", *(long *)o->value);
			digest_line(&c, o->name, num);
			break;
		case OPT_LIST:
			for (size_t j = 0; j < ((struct dq_strlist *)o->value)->n; j++)
				digest_line(&c, o->name,
				    ((struct dq_strlist *)o->value)->v[j]);
			break;
		case OPT_MODE:
			digest_line(&c, o->name, dq_mode_slug(*(enum dq_mode *)o->value));
			break;
		case OPT_ZONE:
			/* Only when set, so a run without it keeps its digest. */
			if (*(char **)o->value)
				digest_line(&c, o->name, *(char **)o->value);
			break;
		default:
			break;
		}
	}
	if (extra)
		dq_sha256_update(&c, extra, extralen);
	dq_sha256_final(&c, md);
	memcpy(out, "sha256:", 7);
	dq_hex(md, 32, out + 7);
	return out;
}

bool
dq_policy_default(const struct dq_strlist *list)
{
	for (size_t i = 0; i < NDEFAULTS; i++)
		if (list_defaults[i].list == list)
			return list_defaulted[i];
	return false;
}

static time_t run_now;
static bool run_now_set;

void
dq_clock_observe(json_object *run)
{
	const char *now = dq_get_str(run, "now");

	if (!now)
		return;
	if (!dq_time_parse(now, &run_now))
		dq_die_data("run: \"now\" is not an RFC 3339 time: \"%s\"", now);
	run_now_set = true;
}

time_t
dq_now(void)
{
	static time_t clock_now;

	if (dq_policy.now_set)
		return dq_policy.now;
	if (run_now_set)
		return run_now;
	if (!clock_now)
		clock_now = time(NULL);
	return clock_now;
}
