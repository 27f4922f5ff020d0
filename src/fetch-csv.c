/* fetch-csv.c: --csv-tickets FILE [--csv-members FILE], for desks whose
 * tickets live in a spreadsheet or a PSA export. The first row names the
 * columns; a column is known by its name with case, spaces and punctuation
 * ignored ("Ticket #", "ticket_number" and "TicketNumber" are one), and
 * a column nobody knows is ignored with a warning. The mapping is in
 * dq-fetch(1). Lists in a cell are separated by ";".
 *
 * Members bring the teams: a name in "teams" puts the member in that team;
 * a board in "boards" puts the member in that board's default team, named
 * after the board. Every board named anywhere gets a board record. */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <csv.h>

#include "fetch.h"

enum ctype { C_STR, C_NULLABLE, C_LIST, C_LABELS, C_TIME, C_BOOL, C_COUNT,
	C_STATUS, C_ZONE, C_HOURS, C_DATES, C_AWAY, C_TEAMS, C_BOARDS };

struct column {
	const char *field;
	const char *names;	/* squashed, "|"-separated */
	enum ctype type;
};

/* In the order the fields are written. */
static const struct column ticket_columns[] = {
	{ "id", "id|ticket|ticketnumber|ticketid|ticketno", C_STR },
	{ "summary", "summary|summarydescription|subject|title", C_STR },
	{ "board", "board|serviceboard", C_STR },
	{ "status", "status", C_STR },
	{ "company", "company|companyname|client|customer", C_STR },
	{ "priority", "priority", C_STR },
	{ "labels", "labels|tags", C_LABELS },
	{ "type", "type", C_STR },
	{ "subtype", "subtype", C_STR },
	{ "item", "item", C_STR },
	{ "owner", "owner|ticketowner|assignee", C_NULLABLE },
	{ "team", "team|serviceteam", C_NULLABLE },
	{ "entered_at", "enteredat|entered|dateentered|created|createdat",
	  C_TIME },
	{ "updated_at", "updatedat|updated|lastupdated", C_TIME },
};

static const struct column member_columns[] = {
	{ "id", "id|member|memberid|identifier|username", C_STR },
	{ "name", "name|fullname|membername", C_STR },
	{ "teams", "teams|team", C_TEAMS },
	{ "boards", "boards|board", C_BOARDS },
	{ "status", "status|presence", C_STATUS },
	{ "archived", "archived|inactive", C_BOOL },
	{ "capabilities", "capabilities|skills", C_LIST },
	{ "max_concurrent", "maxconcurrent|maxactive|capacity", C_COUNT },
	{ "created_at", "createdat|created|hiredate", C_TIME },
	{ "last_dispatched_at", "lastdispatchedat|lastdispatched", C_TIME },
	{ "last_seen_at", "lastseenat|lastseen", C_TIME },
	{ "tz", "tz|timezone|zone", C_ZONE },
	{ "hours", "hours|workinghours", C_HOURS },
	{ "holidays", "holidays", C_DATES },
	{ "away", "away|absences|inout", C_AWAY },
	{ "webhook", "webhook|webhookurl", C_STR },
};

#define NCOLS(a) (sizeof a / sizeof a[0])
#define MAX_COLS 16

_Static_assert(NCOLS(ticket_columns) <= MAX_COLS &&
    NCOLS(member_columns) <= MAX_COLS, "MAX_COLS is too small");

struct sheet {
	const char *path;
	const struct column *cols;
	size_t ncols;
	int *map;		/* file column -> index in cols, or -1 */
	size_t nmap;
	size_t row;		/* rows read, the header being row 1 */
	size_t unended;		/* bytes read since a row last ended */
	struct dq_strlist cells;
	void (*on_row)(struct sheet *sh, char **cells);
};

static json_object *teams;	/* team id -> {"members": [...], "board": bool} */
static struct dq_strlist boards;

static _Noreturn void row_error(struct sheet *sh, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
row_error(struct sheet *sh, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	dq_die(DQ_EXIT_DATA, "%s: row %zu: %s", sh->path, sh->row, msg);
}

static void
squash(const char *s, char *out, size_t size)
{
	size_t n = 0;

	for (; *s && n + 7 < size; s++) {
		if (*s == '#') {
			memcpy(out + n, "number", 6);
			n += 6;
		} else if (isalnum((unsigned char)*s)) {
			out[n++] = (char)tolower((unsigned char)*s);
		}
	}
	out[n] = '\0';
}

static bool
name_matches(const char *names, const char *key)
{
	size_t len = strlen(key);

	for (const char *p = names; *p; p += strcspn(p, "|"), p += *p == '|')
		if (strcspn(p, "|") == len && !strncmp(p, key, len))
			return true;
	return false;
}

static void
read_header(struct sheet *sh, char **cells, size_t n)
{
	bool have_id = false;

	sh->map = xcalloc(n, sizeof *sh->map);
	sh->nmap = n;
	for (size_t i = 0; i < n; i++) {
		char key[128];

		squash(cells[i], key, sizeof key);
		sh->map[i] = -1;
		for (size_t c = 0; c < sh->ncols; c++)
			if (name_matches(sh->cols[c].names, key))
				sh->map[i] = (int)c;
		for (size_t j = 0; j < i && sh->map[i] >= 0; j++)
			if (sh->map[j] == sh->map[i])
				row_error(sh, "columns \"%s\" and \"%s\" are both "
				    "\"%s\"", cells[j], cells[i],
				    sh->cols[sh->map[i]].field);
		if (sh->map[i] < 0 && !dq_policy.quiet)
			dq_warnx("%s: column \"%s\" ignored", sh->path, cells[i]);
		have_id |= sh->map[i] == 0;
	}
	if (!have_id)
		row_error(sh, "no \"%s\" column", sh->cols[0].field);
}

/* "a; b;;c" -> ["a","b","c"], lower-cased when asked */
static json_object *
split_list(const char *s, bool lower)
{
	json_object *a = json_object_new_array();
	char *copy = xstrdup(s), *save = NULL;

	for (char *t = strtok_r(copy, ";", &save); t; t = strtok_r(NULL, ";", &save)) {
		char *e;

		t += strspn(t, " \t");
		for (e = t + strlen(t); e > t && isspace((unsigned char)e[-1]); e--)
			;
		*e = '\0';
		for (char *p = t; lower && *p; p++)
			*p = (char)tolower((unsigned char)*p);
		if (*t)
			json_object_array_add(a, json_object_new_string(t));
	}
	free(copy);
	return a;
}

/* Hours, in the grammar of pods (hours.c) */

static json_object *
parse_hours(struct sheet *sh, const char *spec)
{
	struct dq_hours h;
	json_object *hours;
	char err[256];

	if (!dq_hours_parse_text(spec, &h, err, sizeof err))
		row_error(sh, "hours: expected e.g. \"mon-fri 08:00-17:00; "
		    "sat 09:00-12:00\", not \"%s\"", spec);
	hours = dq_hours_json(&h);
	dq_hours_free(&h);
	return hours;
}

/* Absences */

/* "2026-11-23T13:00:00Z/2026-11-23T18:30:00Z Doctor; ..." -> the away
 * spans; a type of --available-in-out is no absence. */
static json_object *
parse_away(struct sheet *sh, const char *spec)
{
	json_object *spans = split_list(spec, false), *away = NULL;

	for (size_t i = 0; i < json_object_array_length(spans); i++) {
		char *item = xstrdup(json_object_get_string(
		    json_object_array_get_idx(spans, i)));
		char *type = item + strcspn(item, " \t"), *slash;
		char start[DQ_TIMEBUF], end[DQ_TIMEBUF];

		if (*type)
			*type++ = '\0';
		type += strspn(type, " \t");
		if (!(slash = strchr(item, '/')) || (*slash = '\0',
		    !fetch_time(item, start)) || !fetch_time(slash + 1, end))
			row_error(sh, "away: expected e.g. \"2026-11-23T13:00:00Z/"
			    "2026-11-23T18:30:00Z Doctor\", not \"%s\"",
			    json_object_get_string(json_object_array_get_idx(
			    spans, i)));
		if (strcmp(end, start) < 0)
			row_error(sh, "away: \"%s\" ends before it starts",
			    json_object_get_string(json_object_array_get_idx(
			    spans, i)));
		fetch_away_add(&away, start, end, *type ? type : NULL);
		free(item);
	}
	json_object_put(spans);
	return away ? away : json_object_new_array();
}

/* Cells */

static void
join_team(const char *team, const char *member, bool serves_board)
{
	json_object *t, *members;

	if (!json_object_object_get_ex(teams, team, &t)) {
		t = json_object_new_object();
		json_object_object_add(t, "members", json_object_new_array());
		json_object_object_add(t, "board", json_object_new_boolean(false));
		json_object_object_add(teams, team, t);
	}
	if (serves_board)
		json_object_object_add(t, "board", json_object_new_boolean(true));
	members = dq_get(t, "members");
	for (size_t i = 0; i < json_object_array_length(members); i++)
		if (!strcmp(json_object_get_string(json_object_array_get_idx(
		    members, i)), member))
			return;
	json_object_array_add(members, json_object_new_string(member));
}

static void
note_board(const char *name)
{
	if (name && *name && !dq_strlist_has(&boards, name))
		dq_strlist_add(&boards, name);
}

static json_object *
cell_value(struct sheet *sh, const struct column *c, const char *v,
    const char *id)
{
	char buf[DQ_TIMEBUF], *end;
	json_object *a;
	long n;

	switch (c->type) {
	case C_TIME:
		if (!fetch_time(v, buf))
			row_error(sh, "%s: \"%s\" is not an RFC 3339 time",
			    c->field, v);
		return json_object_new_string(buf);
	case C_BOOL:
		if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcmp(v, "1"))
			return json_object_new_boolean(true);
		if (!strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcmp(v, "0"))
			return json_object_new_boolean(false);
		row_error(sh, "%s: expected yes or no, not \"%s\"", c->field, v);
	case C_COUNT:
		errno = 0;
		n = strtol(v, &end, 10);
		if (errno || *end || n < 0)
			row_error(sh, "%s: expected a whole number, not \"%s\"",
			    c->field, v);
		return json_object_new_int64(n);
	case C_STATUS:
		if (strcasecmp(v, "online") && strcasecmp(v, "busy") &&
		    strcasecmp(v, "offline"))
			row_error(sh, "status: expected ONLINE, BUSY or OFFLINE, "
			    "not \"%s\"", v);
		return json_object_new_string(toupper((unsigned char)v[0]) == 'O' ?
		    (toupper((unsigned char)v[1]) == 'N' ? "ONLINE" : "OFFLINE") :
		    "BUSY");
	case C_ZONE:
		if (!dq_zone_valid(v))
			row_error(sh, "tz: unknown time zone \"%s\"", v);
		return json_object_new_string(v);
	case C_HOURS:
		return parse_hours(sh, v);
	case C_AWAY:
		return parse_away(sh, v);
	case C_LIST:
	case C_LABELS:
		return split_list(v, true);
	case C_DATES:
	case C_TEAMS:
	case C_BOARDS:
		a = split_list(v, false);
		for (size_t i = 0; c->type != C_DATES &&
		    i < json_object_array_length(a); i++) {
			const char *t = json_object_get_string(
			    json_object_array_get_idx(a, i));

			join_team(t, id, c->type == C_BOARDS);
			if (c->type == C_BOARDS)
				note_board(t);
		}
		return a;
	default:
		return json_object_new_string(v);
	}
}

/* A ticket without labels is labelled by its type, subtype and item, as
 * ConnectWise tickets are. */
static json_object *
default_labels(const struct sheet *sh, const char *const *by_col)
{
	json_object *labels = json_object_new_array();

	for (size_t c = 0; c < sh->ncols; c++) {
		const char *f = sh->cols[c].field;
		char *l;

		if ((strcmp(f, "type") && strcmp(f, "subtype") && strcmp(f, "item")) ||
		    !by_col[c] || !*by_col[c])
			continue;
		l = xstrdup(by_col[c]);
		for (char *p = l; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		json_object_array_add(labels, json_object_new_string(l));
		free(l);
	}
	return labels;
}

/* A member's boards are teams too: each board's team (see above). */
static void
add_teams(json_object *rec, json_object *more)
{
	json_object *all = dq_get(rec, "teams");

	if (!all) {
		all = json_object_new_array();
		json_object_object_add(rec, "teams", all);
	}
	for (size_t i = 0; i < json_object_array_length(more); i++) {
		const char *t = json_object_get_string(
		    json_object_array_get_idx(more, i));
		size_t j;

		for (j = 0; j < json_object_array_length(all) &&
		    strcmp(json_object_get_string(json_object_array_get_idx(all,
		    j)), t) != 0; j++)
			;
		if (j == json_object_array_length(all))
			json_object_array_add(all, json_object_new_string(t));
	}
	json_object_put(more);
}

static json_object *
build_record(struct sheet *sh, const char *kind, char **cells)
{
	json_object *rec = json_object_new_object();
	const char *by_col[MAX_COLS] = { NULL }, *id;

	for (size_t i = 0; i < sh->nmap && i < sh->cells.n; i++)
		if (sh->map[i] >= 0)
			by_col[sh->map[i]] = cells[i];
	id = by_col[0];
	if (!id || !*id)
		row_error(sh, "no %s", sh->cols[0].field);
	fetch_set_str(rec, "kind", kind);
	for (size_t c = 0; c < sh->ncols; c++) {
		const char *v = by_col[c];

		if (sh->cols[c].type == C_NULLABLE && (!v || !*v))
			json_object_object_add(rec, sh->cols[c].field, NULL);
		else if (sh->cols[c].type == C_LABELS && (!v || !*v))
			json_object_object_add(rec, sh->cols[c].field,
			    default_labels(sh, by_col));
		else if (v && *v && sh->cols[c].type == C_BOARDS)
			add_teams(rec, cell_value(sh, &sh->cols[c], v, id));
		else if (v && *v)
			json_object_object_add(rec, sh->cols[c].field,
			    cell_value(sh, &sh->cols[c], v, id));
	}
	return rec;
}

static void
ticket_row(struct sheet *sh, char **cells)
{
	json_object *rec = build_record(sh, "ticket", cells);

	note_board(dq_get_str(rec, "board"));
	fetch_add(rec);
}

static void
member_row(struct sheet *sh, char **cells)
{
	json_object *rec = build_record(sh, "member", cells);
	char err[256];
	struct dq_hours h = { 0 };

	if (!dq_hours_parse(dq_get(rec, "hours"), dq_get(rec, "holidays"), &h,
	    err, sizeof err))
		row_error(sh, "%s", err);
	dq_hours_free(&h);
	/* DESIGN §2: OFFLINE while an absence covers now. */
	if (fetch_away_settle(dq_get(rec, "away")))
		fetch_set_str(rec, "status", "OFFLINE");
	fetch_add(rec);
}

/* Reading */

static void
on_cell(void *s, size_t len, void *arg)
{
	struct sheet *sh = arg;

	(void)len;
	dq_strlist_add(&sh->cells, s ? s : "");
}

static void
on_row(int c, void *arg)
{
	struct sheet *sh = arg;

	(void)c;
	sh->unended = 0;
	sh->row++;
	if (sh->row == 1)
		read_header(sh, sh->cells.v, sh->cells.n);
	else if (!(sh->cells.n == 1 && !*sh->cells.v[0]))
		sh->on_row(sh, sh->cells.v);	/* a blank line is no row */
	dq_strlist_clear(&sh->cells);
}

static void
read_sheet(struct sheet *sh)
{
	FILE *fp = fopen(sh->path, "r");
	struct csv_parser p;
	char buf[65536];
	size_t n;

	if (!fp)
		dq_die(DQ_EXIT_NOINPUT, "%s: %s", sh->path, strerror(errno));
	if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0)
		dq_out_of_memory();
	/* A cell grows by this much at a time: libcsv's 128 bytes would
	 * copy a long cell over and over. */
	csv_set_blk_size(&p, 1 << 20);
	while ((n = fread(buf, 1, sizeof buf, fp)) > 0) {
		if (csv_parse(&p, buf, n, on_cell, on_row, sh) != n)
			break;
		/* A row never ended (a quote left open, /dev/zero) would
		 * grow without end. */
		if ((sh->unended += n) > DQ_MAX_LINE) {
			sh->row++;
			row_error(sh, "longer than %d MiB", DQ_MAX_LINE >> 20);
		}
	}
	if (ferror(fp))
		dq_die(DQ_EXIT_IO, "%s: read error", sh->path);
	if (csv_error(&p) == CSV_SUCCESS)
		csv_fini(&p, on_cell, on_row, sh);
	if (csv_error(&p) != CSV_SUCCESS) {
		sh->row++;
		row_error(sh, "%s", csv_error(&p) == CSV_EPARSE ?
		    "malformed CSV: a stray or unterminated quote" :
		    csv_strerror(csv_error(&p)));
	}
	if (sh->row == 0)
		dq_die(DQ_EXIT_DATA, "%s: empty file: expected a header row",
		    sh->path);
	csv_free(&p);
	fclose(fp);
	free(sh->map);
	dq_strlist_clear(&sh->cells);
}

/* Records the rows implied */

static void
emit_teams(void)
{
	struct json_object_iter it;

	json_object_object_foreachC(teams, it) {
		const char *id = it.key;
		json_object *t = it.val;
		json_object *rec = json_object_new_object();
		json_object *serves = json_object_new_array();
		bool board = dq_get_bool(t, "board", false);

		fetch_set_str(rec, "kind", "team");
		fetch_set_str(rec, "id", id);
		fetch_set_str(rec, "name", id);
		if (board)
			json_object_array_add(serves, json_object_new_string(id));
		json_object_object_add(rec, "boards", serves);
		json_object_object_add(rec, "members",
		    json_object_get(dq_get(t, "members")));
		json_object_object_add(rec, "default",
		    json_object_new_boolean(board));
		fetch_add(rec);
	}
}

static void
emit_boards(void)
{
	for (size_t i = 0; i < boards.n; i++) {
		json_object *rec = json_object_new_object();

		fetch_set_str(rec, "kind", "board");
		fetch_set_str(rec, "id", boards.v[i]);
		fetch_set_str(rec, "name", boards.v[i]);
		fetch_add(rec);
	}
}

void
fetch_csv(const char *tickets, const char *members)
{
	struct sheet t = { .path = tickets, .cols = ticket_columns,
	    .ncols = NCOLS(ticket_columns), .on_row = ticket_row };
	struct sheet m = { .path = members, .cols = member_columns,
	    .ncols = NCOLS(member_columns), .on_row = member_row };

	teams = json_object_new_object();
	read_sheet(&t);
	if (members)
		read_sheet(&m);
	emit_teams();
	emit_boards();
	json_object_put(teams);
	dq_strlist_clear(&boards);
}
