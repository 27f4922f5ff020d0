/* dq.h: the library every dq program shares, one block per source file. */
#ifndef DQ_H
#define DQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/types.h>
#include <sysexits.h>
#include <time.h>

#include <json-c/json.h>

/* diag.c: diagnostics, exit codes, allocation */

/* The exit status table of DESIGN §7, the same in every program. */
enum {
	DQ_EXIT_OK = 0,
	DQ_EXIT_USAGE = EX_USAGE,		/* 64 */
	DQ_EXIT_DATA = EX_DATAERR,		/* 65 */
	DQ_EXIT_NOINPUT = EX_NOINPUT,		/* 66 */
	DQ_EXIT_UNAVAILABLE = EX_UNAVAILABLE,	/* 69 */
	DQ_EXIT_SOFTWARE = EX_SOFTWARE,		/* 70 */
	DQ_EXIT_IO = EX_IOERR,			/* 74 */
	DQ_EXIT_TEMPFAIL = EX_TEMPFAIL,		/* 75 */
	DQ_EXIT_CONFIG = EX_CONFIG,		/* 78 */
};

extern const char *dq_progname;
void dq_setprogname(const char *argv0);
void dq_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void dq_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Flushes the records already written, reports, exits with status. */
_Noreturn void dq_die(int status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A usage error, the one way every program reports one: the message,
 * then "Try 'PROG --help' for more information.", exit 64. */
_Noreturn void dq_usage(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
/* dq_die's "out of memory" (exit 70), without formatting: what every
 * failed allocation comes to, whether xmalloc's or a library's. */
_Noreturn void dq_out_of_memory(void);
/* Checks stdout at exit: a lost write is exit 74, never a silent 0. */
int dq_close_stdout(int status);
/* Of two exit statuses of failed writes, the one to report: a refusal
 * (69) needs someone to fix access, an invalid write (65) someone to fix
 * data, and a transient fault (75) only another run. */
int dq_exit_worse(int a, int b);
/* Text from a file, fit to quote in a message: at most DQ_EXCERPT bytes
 * of it, "..." when cut, and any byte that is not printable ASCII as '?',
 * so that a file named by mistake (pods = /etc/shadow) shows little of
 * itself and nothing that could drive a terminal. Four buffers in turn:
 * one message can quote up to four. */
#define DQ_EXCERPT 32
const char *dq_excerpt(const char *s);
/* msg with each control byte (a newline, an escape) as '?'. */
void dq_printable(char *msg);
void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);

/* slurp.c: input of bounded size */

/* The longest record line, or journal line, with its newline; and the
 * largest configuration file (policy, credentials, rules, pods, zone
 * map). The man pages give both. */
#define DQ_MAX_LINE (16 << 20)
#define DQ_MAX_CONFIG (4 << 20)

/* The bytes of a configuration file with a NUL after them, their count in
 * *len; a file that cannot be read is exit 66, one larger than
 * DQ_MAX_CONFIG exit 78. */
char *dq_slurp(const char *path, size_t *len);
/* getline(3) for lines of at most max bytes (newline included): the
 * length; -1 at the end of input or on an error; DQ_LINE_TOO_LONG, with
 * the rest of the line unread, when it is longer. */
#define DQ_LINE_TOO_LONG (-2)
ssize_t dq_getline(char **line, size_t *cap, FILE *fp, size_t max);

/* strlist.c: growable lists of strings (repeatable options, ids) */

struct dq_strlist {
	char **v;
	size_t n, cap;
};
void dq_strlist_add(struct dq_strlist *l, const char *s);
void dq_strlist_clear(struct dq_strlist *l);
bool dq_strlist_has(const struct dq_strlist *l, const char *s);
bool dq_strlist_has_icase(const struct dq_strlist *l, const char *s);
int dq_strcmp_ptr(const void *a, const void *b);

/* words.c: decisions in words */

/* A dispatch reason as a dispatcher says it: "least active: 2 open
 * tickets", "rule vip-acme: assign"; a reason it does not know, as it
 * is. Allocated. */
char *dq_reason_words(const char *reason);

/* suggest.c: help for a mistyped word */

/* The one of n choices that word most likely misspells (edit distance,
 * case ignored, or the only choice word begins), or NULL. */
const char *dq_nearest(const char *word, const char *const *choices,
	size_t n);
/* "a, b or c"; a static buffer. */
const char *dq_choice_list(const char *const *choices, size_t n);
/* What follows a message about an unknown word: a question naming the
 * nearest choice, or (when list) all of them, or nothing. A static
 * buffer. */
const char *dq_did_you_mean(const char *word, const char *const *choices,
	size_t n, bool list);

/* ndjson.c: reading and writing the record stream */

struct dq_input {
	json_object *rec;	/* the parsed record, owned by the reader */
	const char *kind;	/* its "kind" */
	const char *line;	/* the raw line, without the newline */
	size_t len;
	size_t lineno;
	bool compact;		/* line can be copied to the output as it is */
};

typedef void (*dq_record_fn)(struct dq_input *in, void *arg);

/* Reads fp record by record and calls fn for each; a malformed record
 * stops the program (exit 65) after flushing what was written. name is
 * NULL for stdin, else the file's name for the messages. */
void dq_stream(FILE *fp, const char *name, dq_record_fn fn, void *arg);
/* Streams each file operand in turn ("-" is stdin), or stdin if none;
 * a missing file is exit 66. */
void dq_stream_files(int argc, char **argv, dq_record_fn fn, void *arg);
/* The position of the record being read, for messages: "line 7" or
 * "snap.ndjson: line 7". */
const char *dq_where(void);
/* Warns, unless --quiet, that ticket came before, on line earlier: "line
 * 31: ticket 5003 again: this record replaces the one of line 12" (a
 * later record replaces an earlier one, DESIGN §2). */
void dq_warn_again(const char *ticket, size_t earlier);
_Noreturn void dq_die_data(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* Writes a record as one compact line into stdout's buffer. Not one
 * write: a full buffer passes a line on in pieces, but the buffer is
 * flushed at exit and before dq_die, so the output never ends in a
 * partial line. */
void dq_write(json_object *rec);
/* Writes the input record as it came. */
void dq_write_input(const struct dq_input *in);
/* Writes the input record with key set to value (value is consumed). The
 * raw line is reused when it can be, so annotating costs no reserialize. */
void dq_write_annotated(struct dq_input *in, const char *key, json_object *value);
/* The same with value already serialised (compact JSON, len bytes), for a
 * stage that writes one annotation on many records. */
void dq_write_annotated_json(struct dq_input *in, const char *key,
    const char *json, size_t len);
const char *dq_json_string(json_object *o);

/* Accessors that treat a missing or null field alike. */
const char *dq_get_str(json_object *rec, const char *key);
json_object *dq_get(json_object *rec, const char *key);
bool dq_get_bool(json_object *rec, const char *key, bool dflt);
/* rec's string field, which a record of kind must have non-empty: else
 * the program stops with the record's line (exit 65). */
const char *dq_need_str(json_object *rec, const char *kind, const char *field);
/* What a JSON value is, in words for messages: "a string", "a list";
 * "null" for NULL, which is also what dq_get gives for a JSON null. */
const char *dq_json_shape(json_object *v);
const char *dq_json_type_shape(enum json_type type);
/* Adds id to an `excluded` list grouped by why (DESIGN §2): the group of
 * that exact why, made at the end if it is new. */
void dq_exclude(json_object *excluded, const char *id, const char *why);

/* timefmt.c: RFC 3339 times */

/* Parses "2026-11-21T14:10:00Z", an offset, or fractional seconds. */
bool dq_time_parse(const char *s, time_t *out);
/* Formats as "2026-11-21T14:10:00Z"; buf holds at least 21 bytes. */
char *dq_time_format(time_t t, char *buf);
#define DQ_TIMEBUF 32

/* zone.c: IANA time zones */

bool dq_zone_valid(const char *zone);
/* UTC offset in seconds of zone at t. */
long dq_zone_offset(const char *zone, time_t t);
/* Local wall time of t in zone. */
void dq_zone_local(const char *zone, time_t t, struct tm *out);
/* The instant of a local wall time: the earlier one where the wall clock
 * repeats, and in a gap the wall time read with the offset before it. */
time_t dq_zone_instant(const char *zone, int year, int mon, int mday, int min);

/* hours.c: working hours and holidays */

#define DQ_MAX_STRETCHES 8

struct dq_span {
	time_t start, end;
};
/* Spans in order of start, then end (for qsort and searches). */
int dq_span_cmp(const void *a, const void *b);

struct dq_hours {
	bool always;		/* no "hours": available around the clock */
	int nstretch[7];	/* Monday = 0 */
	struct { int start, end; } stretch[7][DQ_MAX_STRETCHES]; /* minutes */
	size_t nholiday;
	struct dq_holiday {
		int year, mon, mday;
		int start, end;	/* minutes; whole day is 0..1440 */
	} *holiday;
};

/* Parses a member's "hours" and "holidays"; on error returns false and
 * puts a message into err. */
bool dq_hours_parse(json_object *hours, json_object *holidays,
	struct dq_hours *out, char *err, size_t errlen);
/* Parses hours as people write them, the grammar of dq-pods(5): groups
 * "DAYS STRETCH..." separated by ";", as in "mon-fri 08:00-12:00
 * 13:00-17:00; sat 09:00-12:00". Pods and the CSV members file read
 * hours with it. On error returns false and says what is wrong in err. */
bool dq_hours_parse_text(const char *text, struct dq_hours *out, char *err,
	size_t errlen);
/* The working week of h as a record's "hours": days in week order, one
 * stretch as ["08:00","17:00"], more as a list of them. */
json_object *dq_hours_json(const struct dq_hours *h);
void dq_hours_free(struct dq_hours *h);
/* The working spans in [from, to), sorted and merged, holidays removed.
 * Returns the count; *out is allocated. */
size_t dq_hours_spans(const struct dq_hours *h, const char *zone,
	time_t from, time_t to, struct dq_span **out);
/* Why someone is not working at t: NULL when working, else "holiday" or
 * "outside-hours". */
const char *dq_hours_absence(const struct dq_hours *h, const char *zone, time_t t);

/* calendar.c: free time, the earliest slot, bookings */

/* A member's calendar: entry records and this run's bookings; what it
 * keeps is calendar.c's own. */
struct dq_calendar;

struct dq_calendar *dq_calendar_new(void);
void dq_calendar_free(struct dq_calendar *cal);
/* Adds an entry as it arrives; the list is sorted when first read. */
void dq_calendar_add(struct dq_calendar *cal, struct dq_span entry);
void dq_calendar_remove(struct dq_calendar *cal, struct dq_span entry);
/* Books a slot, in order. */
void dq_calendar_book(struct dq_calendar *cal, struct dq_span slot);
/* Drops the cached working spans: the hours they came from changed. */
void dq_calendar_forget_hours(struct dq_calendar *cal);
/* The earliest slot, starting at from or later, of someone working
 * hours h in zone (a member's own, or a pod's); false when none starts
 * within the horizon. The rules are the --slot-minutes group of options. */
bool dq_calendar_slot(struct dq_calendar *cal, const struct dq_hours *h,
	const char *zone, time_t from, struct dq_span *out);
/* Booked time over working time within the horizon, in thousandths. */
long dq_calendar_density(struct dq_calendar *cal, const struct dq_hours *h,
	const char *zone);

struct dq_context;
struct dq_pods;

/* What dq_book_ticket did. */
struct dq_booking {
	const char *member;	/* whom the ticket needed a slot with */
	bool found;		/* a slot was booked */
	bool has_wanted;	/* an EARLIEST_SLOT decision chose a start */
	bool moved;		/* and it was no longer free */
	time_t wanted;
	struct dq_span slot;
};

/* Books the slot dq-schedule gives a ticket: for an assigned ticket (and,
 * with backfill, an owned one that no entry names) the start an
 * EARLIEST_SLOT decision chose if it is still free, else the earliest.
 * Working hours are the member's, or the pod's (pods may be NULL). False
 * for a ticket that needs no slot. A ticket that carries a slot holds
 * it. The booking is the ticket's (dq_ticket_book), which needs an id.
 * dq-pick calls it too, so its calendar is the one dq-schedule will keep. */
bool dq_book_ticket(struct dq_context *ctx, const struct dq_pods *pods,
	json_object *ticket, bool backfill, struct dq_booking *out);

/* digest.c: SHA-256 (FIPS 180-4) and HMAC-SHA256 from libcrypto */

struct evp_md_ctx_st;
struct dq_sha256 {
	struct evp_md_ctx_st *md;	/* from init until final */
};
void dq_sha256_init(struct dq_sha256 *c);
void dq_sha256_update(struct dq_sha256 *c, const void *data, size_t len);
void dq_sha256_final(struct dq_sha256 *c, unsigned char out[32]);
void dq_hex(const unsigned char *p, size_t n, char *out);
/* HMAC-SHA256 (RFC 2104) of data under key. */
void dq_hmac_sha256(const void *key, size_t keylen, const void *data,
	size_t len, unsigned char out[32]);

/* policy.c: options, policy files, the clock */

enum dq_prog {
	DQ_FETCH = 1 << 0,
	DQ_WATCH = 1 << 1,
	DQ_ELIGIBLE = 1 << 2,
	DQ_PICK = 1 << 3,
	DQ_SCHEDULE = 1 << 4,
	DQ_APPLY = 1 << 5,
	DQ_EXPLAIN = 1 << 6,
};

enum dq_mode {
	DQ_MODE_MANUAL,
	DQ_MODE_DEFAULT_TEAM,
	DQ_MODE_ROUND_ROBIN,
	DQ_MODE_PRIORITY_MATCH,
	DQ_MODE_CAPABILITY_MATCH,
	DQ_MODE_LEAST_ACTIVE,
	DQ_MODE_EARLIEST_SLOT,
};

/* Every setting of every program; each reads the ones it uses. */
struct dq_policy {
	time_t now;
	bool now_set;
	struct dq_strlist boards, trigger_statuses;
	struct dq_strlist companies, exclude_companies;
	struct dq_strlist inactive_statuses;
	long candidates;		/* listed in a decision; 0: all */
	long max_active;		/* -1: use each member's max_concurrent */
	bool working_now;
	bool drop;
	bool auto_dispatch;
	bool quiet;
	enum dq_mode mode;
	long slot_minutes, buffer_minutes, lead_minutes;
	long horizon_hours, round_minutes;
	bool backfill;
	long history_half_life_days;
	/* dq-watch */
	long stall_minutes, queue_stall_minutes, ack_seconds, idle_minutes;
	bool redispatch_on_stall, redispatch_on_noack;
	/* dq-fetch and the PSA client */
	bool connectwise, verbose;
	char *from, *csv_tickets, *csv_members;
	char *credentials, *ca_file, *zone_map;
	struct dq_strlist tickets, journals;
	struct dq_strlist available_in_out;	/* In/Out types not absence */
	char *member;			/* dq-explain: whose side to tell */
	long history_days, parallel;
	long connect_timeout, max_time, retries;	/* every HTTP request */
	char *rules_file, *rules_tz, *pods_file;	/* NULL: not given */
	/* dq-apply, and dq-eligible's --once and --no-retry */
	bool commit, note, once, retry;
	char *status_after, *team_status_after;	/* NULL: not given */
	char *target, *format;			/* NULL: not given */
	char *tz;		/* dq-apply's table; NULL: the local zone */
	bool require_approval, auto_start;
	char *webhook_secret_file;
	bool approve, reject, start, ack;	/* dq-apply's agent commands */
	bool pending;
};

extern struct dq_policy dq_policy;

/* Fills dq_policy for program prog from the policy file and argv, and
 * handles --help and --version. Returns the index of the first operand. */
int dq_policy_load(int argc, char **argv, unsigned prog, const char *synopsis,
	const char *summary);
/* Reads fp, a file in policy syntax ("key = value", "--key value", a
 * value maybe double-quoted, # comments) named path, and calls fn with
 * each key and value; an open quote is exit 78 naming the line. The
 * line buffer is wiped after: credentials files use the syntax too. */
typedef void (*dq_config_fn)(const char *path, size_t lineno,
	const char *key, const char *val, void *arg);
void dq_config_read(FILE *fp, const char *path, dq_config_fn fn, void *arg);
/* Where a configuration file NAME is found when none is named:
 * $XDG_CONFIG_HOME/dq/NAME (else ~/.config/dq/NAME), then /etc/dq/NAME;
 * the first that exists (allocated), or NULL. */
char *dq_config_path(const char *name);
/* "sha256:<hex>" of prog's effective settings and the given extra
 * text (files that shape decisions); a static buffer. */
const char *dq_policy_digest(unsigned prog, const char *extra, size_t extralen);
const char *dq_mode_name(enum dq_mode m);	/* "ROUND_ROBIN" */
const char *dq_mode_slug(enum dq_mode m);	/* "round-robin" */
bool dq_mode_parse(const char *s, enum dq_mode *out);
/* dq_did_you_mean for a word that is no mode. */
const char *dq_mode_hint(const char *s);

/* Whether a repeatable option still holds its default list: neither the
 * policy file nor the command line gave it. */
bool dq_policy_default(const struct dq_strlist *list);
/* The instant the run acts at: --now or DQ_NOW, else the stream's run
 * record, else the system clock read once. */
time_t dq_now(void);
void dq_clock_observe(json_object *run);

/* context.c: the context records a stage keeps while tickets stream by */

enum dq_presence { DQ_ONLINE, DQ_BUSY, DQ_OFFLINE };

struct dq_member {
	char *id;
	json_object *rec;
	bool archived;
	enum dq_presence presence;
	long max_concurrent;
	const char *tz;		/* NULL: UTC */
	bool tz_known;
	struct dq_hours hours;
	struct dq_span *away;	/* absences, sorted; busy time on the
				 * member's calendar too */
	size_t naway;
	bool has_last, has_created;
	time_t last_dispatched, created;
	long run_seq;		/* > 0: dispatched in this run, in this order */
	long run_assigned;	/* tickets given in this run */
	long open_active;	/* active tickets of "open", as counted at */
	unsigned long open_counted;	/* context generation + 1; 0: not yet */
};

struct dq_team {
	char *id;
	json_object *rec;
	const char *name;
	bool is_default;
	json_object *boards, *members;	/* arrays of strings */
};

struct dq_context;

struct dq_context *dq_context_new(void);
void dq_context_free(struct dq_context *ctx);
/* Reads when each member was last given work from the journals, so that
 * a member record's last_dispatched_at counts only when it is later. Call
 * before the members arrive. */
void dq_context_journal(struct dq_context *ctx, const struct dq_strlist *journals);
/* Keeps rec if it is a context record (it takes a reference) and says
 * whether it was; a malformed one stops the program (exit 65). */
bool dq_context_add(struct dq_context *ctx, const char *kind, json_object *rec);
/* Grows with every context record taken: what was worked out from the
 * context holds while it stays the same. */
unsigned long dq_context_generation(const struct dq_context *ctx);
/* The stream of a stage that works on tickets: run records set the clock,
 * context records are kept, both pass through; each ticket goes to ticket
 * (its arg is ctx), which writes it. */
void dq_stage_stream(int argc, char **argv, struct dq_context *ctx,
	dq_record_fn ticket);
struct dq_member *dq_member_get(struct dq_context *ctx, const char *id);
struct dq_team *dq_team_get(struct dq_context *ctx, const char *id);
/* A team by id, else the first by id order with that name, or NULL. */
struct dq_team *dq_team_find(struct dq_context *ctx, const char *id_or_name);
json_object *dq_board_get(struct dq_context *ctx, const char *name);
/* The default team of a board, or NULL. */
struct dq_team *dq_default_team(struct dq_context *ctx, const char *board);
/* Teams serving a board, in id order; returns the count. */
size_t dq_board_teams(struct dq_context *ctx, const char *board,
	struct dq_team ***out);
bool dq_team_has_member(const struct dq_team *t, const char *id);
bool dq_team_serves(const struct dq_team *t, const char *board);
/* Open tickets that count as active: statuses not in inactive and not a
 * closed status on any board; plus this run's assignments. */
long dq_member_active(struct dq_context *ctx, struct dq_member *m,
	const struct dq_strlist *inactive);
/* The capacity rule: whether m, with active tickets that count, is full
 * (the limit is --max-active, else max_concurrent; 0 is none); if so, why
 * gets "at-capacity:ACTIVE/LIMIT". */
bool dq_member_full(const struct dq_member *m, long active, char *why,
	size_t whylen);
/* Round robin's clock: when m was last given work, where a dispatch in
 * this run happened at now, after every earlier one; false if never. */
bool dq_member_last_given(const struct dq_member *m, time_t *at);
/* Round robin order: oldest last dispatch first (never first of all),
 * then oldest created_at, then id. */
int dq_member_rr_cmp(const struct dq_member *a, const struct dq_member *b);
/* ticket was given to m: m's in-run count and place in the round robin. */
void dq_member_dispatched(struct dq_context *ctx, struct dq_member *m,
	const char *ticket);
/* Books slot in member's calendar as ticket's. */
void dq_ticket_book(struct dq_context *ctx, const char *ticket,
	const char *member, struct dq_span slot);
/* A later record of a ticket replaces an earlier one (DESIGN §2): a stage
 * that keeps in-run state calls this as each ticket's record arrives
 * (lineno is its line). When ticket came before, it is warned about
 * (dq_warn_again) and what its earlier record did in this run, its
 * dispatch and its booking, is taken back, so that the later record is
 * decided as if the earlier had not come. */
void dq_ticket_arrives(struct dq_context *ctx, const char *ticket,
	size_t lineno);
/* Whether one of m's away spans covers t; if so, *back is when the
 * absence ends, spans that meet or overlap taken as one. */
bool dq_member_away(const struct dq_member *m, time_t t, time_t *back);
/* The calendar of member id, created empty when it has no entries. */
struct dq_calendar *dq_member_calendar(struct dq_context *ctx, const char *id);
/* Whether an entry record names ticket. */
bool dq_ticket_has_entry(struct dq_context *ctx, const char *ticket);
/* Every member, in id order; returns the count, *out is allocated. */
size_t dq_member_list(struct dq_context *ctx, struct dq_member ***out);
/* Whether the context names a board, a status (of a board, or in a
 * member's open counts) or a company name, in any case. */
enum dq_name_kind { DQ_NAME_BOARD, DQ_NAME_STATUS, DQ_NAME_COMPANY };
bool dq_context_names(struct dq_context *ctx, enum dq_name_kind kind,
	const char *name);
/* Whether any company record arrived, and whether one is named name. */
bool dq_companies_known(struct dq_context *ctx);
bool dq_company_named(struct dq_context *ctx, const char *name);
/* history.c: the "historical success on similar tickets" signal */

/* A closed ticket, with what scoring compares taken out once. */
#define DQ_HIST_FIELDS 5	/* company, type, subtype, item, board */
struct dq_hist {
	json_object *rec;
	const char *field[DQ_HIST_FIELDS];	/* borrowed from rec */
	uint32_t *words;	/* summary words, hashed, sorted, unique */
	size_t nwords;
	time_t closed;
	bool has_closed;
};

void dq_hist_init(struct dq_hist *h, json_object *rec);
/* Closed tickets of a member (context.c). */
size_t dq_member_history(struct dq_context *ctx, const char *id,
	struct dq_hist **out);

/* The closed tickets that earned a history score, best first. */
#define DQ_EVIDENCE 3
struct dq_evidence {
	const char *ticket[DQ_EVIDENCE];	/* borrowed from the context */
	double part[DQ_EVIDENCE];
	size_t n;
};

/* Score of member for ticket, in thousandths: similarity of each of the
 * member's closed tickets to this one, weighted by age. ev (or NULL) gets
 * the ids of the closed tickets that earned most of it. */
long dq_history_score(struct dq_context *ctx, json_object *ticket,
	const char *member, time_t now, struct dq_evidence *ev);
json_object *dq_json_milli(long milli);	/* 1234 -> 1.234 */

/* buf.c: growing strings */

struct dq_buf {
	char *s;	/* NUL-terminated; NULL until something is added */
	size_t len, cap;
};
void dq_buf_add(struct dq_buf *b, const char *s, size_t len);
void dq_buf_printf(struct dq_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The string (never NULL), which the caller frees; b is empty again. */
char *dq_buf_take(struct dq_buf *b);
char *dq_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* cw.c: the ConnectWise Manage REST client (libcurl), one HTTP,
 * authentication and retry layer for reads and writes.
 *
 * Queue requests with a callback, then dq_cw_run: requests run side by
 * side (at most --parallel), and a callback may queue more. Paths are
 * below the API base ("service/tickets/5001"). Reads and PATCH/PUT/DELETE
 * are retried on 429 (after Retry-After), 408, 5xx and network faults with
 * exponential backoff (base DQ_CW_BACKOFF_MS, default 500); a POST only on
 * 429 or a refused connection, so a record is never created twice. Other
 * 4xx are final. */

struct dq_cw;

struct dq_cw_reply {
	long status;		/* HTTP status; 0 when no reply came */
	json_object *body;	/* the JSON reply or NULL; freed after the
				 * callback, so take a reference to keep it */
	int exit;		/* DQ_EXIT_OK, or the DESIGN §7 status the
				 * failure calls for: 69, 75, 65 (a write the
				 * PSA rejected as invalid) */
	const char *error;	/* NULL, or "PATCH /service/tickets/5001: 400
				 * InvalidObject: ... (field: message)" */
};
typedef void (*dq_cw_fn)(const struct dq_cw_reply *reply, void *arg);

/* The site and credentials from --credentials / DQ_CW_CREDENTIALS (a
 * file only its owner may read) and DQ_CW_*; exits 78 when one is missing
 * or the URL is refused. Uses --ca-file, --parallel and --verbose. */
struct dq_cw *dq_cw_open(void);
void dq_cw_close(struct dq_cw *cw);
/* Queues a GET of one resource. */
void dq_cw_get(struct dq_cw *cw, const char *path, dq_cw_fn fn, void *arg);
/* Queues a GET of every page of a list (conditions, fields: NULL for
 * none); fn gets one array of all rows, in id order. */
void dq_cw_list(struct dq_cw *cw, const char *path, const char *conditions,
	const char *fields, dq_cw_fn fn, void *arg);
/* Queues a write: method "PATCH", "POST", "PUT" or "DELETE"; body may be
 * NULL. */
void dq_cw_send(struct dq_cw *cw, const char *method, const char *path,
	json_object *body, dq_cw_fn fn, void *arg);
/* Runs until every queued request, and every one queued meanwhile, has
 * been answered and its callback called. */
void dq_cw_run(struct dq_cw *cw);
/* A string for conditions: "..." with " and \ escaped, [ as [[]. */
char *dq_cw_quote(const char *s);
/* Opens a file of secrets for reading: exit 66 when it is missing, 78
 * when others may read it ("what is open to other users"). */
FILE *dq_open_private(const char *path, const char *what);
/* The same client for plain endpoints (webhooks): no credentials, whole
 * URLs, --parallel, --ca-file and --verbose as above. */
struct dq_cw *dq_http_open(void);
/* Why url is refused (not https, and not plain http to a loopback
 * address), or NULL. */
const char *dq_http_refusal(const char *url);
/* Queues a POST of the JSON body to url with extra header lines (a NULL
 * ended list). The receiver tells deliveries apart by a header, so it is
 * retried on 5xx, 429 and network faults like any write. */
void dq_http_post(struct dq_cw *cw, const char *url, const char *body,
	const char *const *headers, dq_cw_fn fn, void *arg);
/* pods.c: the pods file (dq-pods(5)) */

struct dq_pods;

/* Parses a pods CSV held in memory; name is the file's, for messages. On
 * error returns NULL with "name:line: message" in err; never exits. */
struct dq_pods *dq_pods_parse(const char *buf, size_t len, const char *name,
	char *err, size_t errlen);
/* Reads and parses path: exit 66 if unreadable, 78 if wrong. */
struct dq_pods *dq_pods_load(const char *path);
void dq_pods_free(struct dq_pods *p);
/* The file's bytes, for the config digest. */
const char *dq_pods_text(const struct dq_pods *p, size_t *len);
/* Matches member and company names against the context once, when the
 * first ticket arrives; later calls do nothing. With report, names that
 * match nothing and hours that disagree with a member's are warned about. */
void dq_pods_resolve(struct dq_pods *p, struct dq_context *ctx, bool report);
bool dq_pods_exists(const struct dq_pods *p, const char *pod);
/* The pod whose customer company is, or NULL. */
const char *dq_pods_of_company(const struct dq_pods *p, const char *company);
/* The member ids of a pod, sorted (empty until resolved); NULL: no pod. */
const struct dq_strlist *dq_pods_members(const struct dq_pods *p,
	const char *pod);
/* The working week and zone that apply to m: the pod's hours and tz where
 * the file gives them (the member's holidays stay), else the member's own.
 * out borrows from m and p. Returns false when the zone is unknown. p may
 * be NULL. */
bool dq_pods_hours(const struct dq_pods *p, const struct dq_member *m,
	struct dq_hours *out, const char **zone);

/* rules.c: the SOP rules (dq-rules(5)) */

/* A word of the rules file and where it stands, for messages. */
struct dq_word {
	char *s;
	unsigned line, col;
};

enum dq_action {
	DQ_ASSIGN,		/* args[0]: a member id */
	DQ_TEAM,		/* args[0]: a team id or name */
	DQ_HOLD,		/* args[0]: the note */
	DQ_EXCLUDE,		/* args: member ids */
	DQ_PREFER_POD,		/* args[0]: a pod */
	DQ_PREFER_CAPABILITY,	/* args[0]: a capability */
	DQ_SET_MODE,		/* mode */
};

struct dq_cond;

struct dq_rule {
	char *id;
	unsigned line;
	struct dq_cond *cond;
	enum dq_action action;
	struct dq_word *args;
	size_t nargs;
	enum dq_mode mode;
};

struct dq_rules {
	char *name;		/* the file's, for messages */
	char *text;		/* its bytes, for the config digest */
	size_t len;
	struct dq_rule *v;
	size_t n;
};

/* Parses rules held in memory; name is the file's, for messages. On error
 * returns NULL with "name:line:col: message" in err; never exits. */
struct dq_rules *dq_rules_parse(const char *buf, size_t len, const char *name,
	char *err, size_t errlen);
/* Reads and parses path: exit 66 if unreadable, 78 if wrong. */
struct dq_rules *dq_rules_load(const char *path);
void dq_rules_free(struct dq_rules *r);
/* The first rule whose condition holds for ticket, or NULL; hour and
 * weekday are read in zone (NULL: UTC). */
const struct dq_rule *dq_rules_match(const struct dq_rules *r,
	struct dq_context *ctx, json_object *ticket, const char *zone);
/* Warns about prefer pod: rules naming a pod the pods file lacks. */
void dq_rules_check_pods(const struct dq_rules *r, const struct dq_pods *p);
/* Warns about members, teams and companies the rules name that the
 * stream's context lacks; called at the end of input. */
void dq_rules_check_context(const struct dq_rules *r, struct dq_context *ctx);
/* dq_policy_digest with the rules and pods files' bytes (either NULL). */
const char *dq_config_digest(unsigned prog, const struct dq_rules *r,
	const struct dq_pods *p);

/* webhook.c: the AGENT_ASSIGNED event and its signed delivery (DESIGN §5) */

/* The event that tells the chosen agent of ticket: kind, type, ticket,
 * member, at, summary and the whole dispatch. */
json_object *dq_agent_assigned(json_object *ticket, time_t at);
/* The delivery id: the same for the same run, ticket and member, so a
 * retry or a finished re-run carries the same one. 32 hex digits. */
char *dq_webhook_delivery(const char *run, const char *ticket,
	const char *member);
/* "sha256=<hex>", the HMAC-SHA256 of body under the secret of
 * DQ_WEBHOOK_SECRET or --webhook-secret-file (its trailing newlines
 * dropped); exit 78 when there is none. */
char *dq_webhook_signature(const char *body);
/* Queues the signed POST of body to url with its delivery id. */
void dq_webhook_post(struct dq_cw *http, const char *url, const char *body,
	const char *delivery, dq_cw_fn fn, void *arg);

/* journal.c: the journal of DESIGN §6 and dq-journal(5).
 *
 * One NDJSON line per event: {"kind": "journal", "phase", "run", "seq",
 * "at", "wall", "commit", "pid", "record"}. "at" is the run's instant
 * (dq_now), "wall" the real time of writing, "pid" the writing process;
 * "record" is the whole record the line is about: a ticket as dq-apply
 * annotated it (phases "intent" and "outcome"), or an event or approval
 * record naming a "ticket" (phases "event", "approve", "reject", "start",
 * "ack"). An intent and the outcome that ends it share run, pid and seq.
 *
 * Reading: every file of the list in turn (rotated files oldest first); a
 * missing file is empty, a torn line is skipped with a warning (unless
 * --quiet), an unreadable file is exit 66. Only lines with "commit": true
 * are handed on: a dry run's lines count for nothing. */

struct dq_journal_line {
	json_object *line;	/* the whole line; valid during the callback */
	const char *phase;	/* "intent", "outcome", "event", ... */
	const char *run;	/* the run's id, or NULL */
	long seq;		/* the ticket's place in the run's stream */
	long pid;		/* the writing process, or 0 */
	time_t at;		/* when the run acted (its "now") */
	bool has_at;
	json_object *record;	/* the line's "record" */
	const char *ticket;	/* the ticket it concerns: a ticket record's
				 * id, else the record's "ticket"; or NULL */
	const char *file;
	size_t lineno;
};
typedef void (*dq_journal_fn)(const struct dq_journal_line *jl, void *arg);

/* Calls fn for each committed line of the journals, in order. */
void dq_journal_read(const struct dq_strlist *paths, dq_journal_fn fn,
	void *arg);
/* Whether an outcome line records an owner or a team that dq gave the
 * ticket and that is in the PSA (outcome applied or unchanged). */
bool dq_journal_settles(const struct dq_journal_line *jl);

/* Holdings: who holds each ticket, since when, with which calendar entry
 * and which status dq left, as the journal says (DESIGN §6): the last
 * committed line that changed the assignment (an applied owner or team,
 * a clearing event, a reject) makes it; approve and start lines move its
 * push, ack lines acknowledge it; any other line never alters it. Every
 * reader of assignments asks this, writers included. */
struct dq_holding {
	const char *member;	/* the owner dq gave it (after a clearing
				 * event, the previous owner); NULL: none */
	const char *team;	/* the team dq gave it; NULL: none */
	const char *status;	/* the status dq left it in, by name */
	const char *webhook;	/* agents: "sent", "pending-approval",
				 * "deferred", "rejected"; NULL: no webhook */
	long entry;		/* the schedule entry dq made for member;
				 * 0: none */
	time_t since;		/* when the run that made it acted */
	time_t slot;		/* the start of the slot dq booked; 0: none */
	time_t pushed;		/* when the member was told; 0: not yet */
	time_t done;		/* when dq's own writes were over */
	bool acked;		/* an ack line for this assignment */
	bool cleared;		/* a watchdog cleared it for re-dispatch */
	bool applied;		/* dq applied a decision: --once settles it */
	bool unassigned;	/* the last decision found nobody, and no
				 * assignment stands: --no-retry settles it */
	const struct dq_strlist *rejected;	/* members who rejected it */
	json_object *record;	/* the record of the line that made it, or
				 * NULL; borrowed */
	unsigned long serial;	/* tells one assignment from the next */
};
struct dq_holdings;

struct dq_holdings *dq_holdings_new(void);
void dq_holdings_free(struct dq_holdings *hs);
/* Takes one committed line in (in journal order). */
void dq_holdings_add(struct dq_holdings *hs, const struct dq_journal_line *jl);
/* The holdings of the journals, read in turn. */
struct dq_holdings *dq_holdings_read(const struct dq_strlist *paths);
/* Fills *h for ticket (all empty when the journal never named it);
 * returns whether it did. The strings are borrowed from hs. */
bool dq_holding(const struct dq_holdings *hs, const char *ticket,
	struct dq_holding *h);
typedef void (*dq_holding_fn)(const char *ticket, const struct dq_holding *h,
	void *arg);
/* Calls fn for each ticket the journal names, in no set order. */
void dq_holdings_each(const struct dq_holdings *hs, dq_holding_fn fn,
	void *arg);
/* When each member was last given a ticket that reached the PSA: member
 * id -> the latest "at". The caller puts the object. */
json_object *dq_journal_last_dispatch(const struct dq_strlist *paths);

/* Writing. A writer appends lines whole: those added between lock and
 * unlock go out in one write under an exclusive flock(2), then fsync(2).
 * While a process has the journal open it holds a record lock on the byte
 * at offset pid, so others can tell its run is alive (journal.c says
 * more); the lock goes with the process, however it ends. */
struct dq_journal;

/* Opens path for appending, creating it, as run; failures are exit 74. */
struct dq_journal *dq_journal_open(const char *path, const char *run);
void dq_journal_close(struct dq_journal *j);
/* Takes the exclusive lock and reads what others appended meanwhile. */
void dq_journal_lock(struct dq_journal *j);
/* Under the lock: whether another live run holds an intent for ticket
 * that no outcome has ended; if so, *run (allocated) and *pid say which. */
bool dq_journal_busy(struct dq_journal *j, const char *ticket, char **run,
	long *pid);
/* Under the lock: adds a line; record is serialised now. */
void dq_journal_add(struct dq_journal *j, const char *phase, long seq,
	bool commit, json_object *record);
/* Under the lock: writes the lines added and syncs them. */
void dq_journal_sync(struct dq_journal *j);
/* Writes the lines added, syncs them, and lets the lock go. */
void dq_journal_unlock(struct dq_journal *j);
/* Under the lock: the unfinished work of dead runs, as a new array of
 * intent lines: per ticket the latest intent, when its process is dead,
 * no outcome ended it and no later intent or settling outcome of the
 * ticket followed it; tickets a live run holds are left out. */
json_object *dq_journal_unfinished(struct dq_journal *j);
/* Under the lock: adds the outcome line (record) that finishes the
 * intent line of a dead run; its "finishes" names that intent's run,
 * pid and seq. */
void dq_journal_finish(struct dq_journal *j, json_object *intent,
	json_object *record);
/* Under the lock: where ticket stands (dq_holding); its latest committed
 * outcome line and its latest intent line, NULL if none (borrowed). */
bool dq_journal_holding(struct dq_journal *j, const char *ticket,
	struct dq_holding *h);
json_object *dq_journal_last_outcome(struct dq_journal *j, const char *ticket);
json_object *dq_journal_last_intent(struct dq_journal *j, const char *ticket);
/* Lock, add one line, unlock. */
void dq_journal_append(struct dq_journal *j, const char *phase, long seq,
	bool commit, json_object *record);

#endif
