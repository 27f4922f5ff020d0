/* fetch-cw.c: --connectwise, the dq records of a ConnectWise Manage site.
 *
 * The requests form a small graph. Boards come first (their statuses and
 * teams hang off their ids); the teams name the members (and so whose
 * open tickets to count); the calendars name the holiday lists. Tickets,
 * history, the In/Out board, schedule entries, the time zone setups and
 * the company settings need nothing and go out at once with the boards.
 * Everything is queued as soon as what it needs has arrived, and the
 * client runs it side by side. Records are built only when all of it is
 * in.
 *
 * Ids follow DESIGN §5: a member is its identifier, a team, board or
 * ticket its number as a string; the numbers travel in "psa". */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fetch.h"

/* Ids in one "in (...)" list: keeps each URL well under 2000 bytes. */
#define IDS_PER_QUERY 100

#define OTHER "system/myCompany/other"

#define TICKET_FIELDS "id,summary,board/id,board/name,status/id,status/name," \
	"company/id,company/identifier,company/name,priority/id,priority/name," \
	"type/name,subType/name,item/name,owner/id,owner/identifier,team/id," \
	"_info"
#define HISTORY_FIELDS "id,summary,board/name,company/name,type/name," \
	"subType/name,item/name,owner/identifier,closedDate,actualHours"
#define MEMBER_FIELDS "id,identifier,firstName,lastName,inactiveFlag," \
	"hireDate,timeZone/id,timeZone/name,calendar/id"
#define CALENDAR_FIELDS "id,holidayList/id,mondayStartTime,mondayEndTime," \
	"tuesdayStartTime,tuesdayEndTime,wednesdayStartTime,wednesdayEndTime," \
	"thursdayStartTime,thursdayEndTime,fridayStartTime,fridayEndTime," \
	"saturdayStartTime,saturdayEndTime,sundayStartTime,sundayEndTime"

struct board {
	long id;
	const char *name;
	json_object *statuses, *teams;
	char statuses_path[64], teams_path[64];
};

static struct {
	struct dq_cw *cw;
	time_t now;
	json_object *boards, *tickets, *history, *inout, *inout_types, *entries;
	json_object *calendars, *members, *open, *other, *zones;
	json_object *holidays;		/* holiday list id -> rows */
	struct board *bv;
	size_t nb, teams_left;
} S;

/* Replies */

static void
need(const struct dq_cw_reply *r)
{
	if (r->exit != DQ_EXIT_OK)
		dq_die(r->exit, "%s", r->error);
}

/* Appends the rows of a list to the array arg. */
static void
append(const struct dq_cw_reply *r, void *arg)
{
	need(r);
	for (size_t i = 0; i < json_object_array_length(r->body); i++)
		json_object_array_add(arg, json_object_get(
		    json_object_array_get_idx(r->body, i)));
}

/* Checked accessors. Every field read from a reply is checked for its
 * type: absent and null are alike (servers leave nulls out), any other
 * wrong shape stops the run (exit 65) naming the endpoint and the field,
 * before a record is written. A row says where it came from. */

struct row {
	json_object *o;
	char path[80];		/* "service/boards/1/teams" */
	size_t index;		/* its place in the list, from 0 */
};

/* Stops the run: field (or field/sub) of r "is a list, expected ...",
 * or, for a string of the wrong form (v NULL), "is not ...". */
static _Noreturn void
bad(const struct row *r, const char *field, const char *sub,
    const char *is, const char *want)
{
	json_object *id = dq_get(r->o, "id");
	char at[64];

	if (json_object_is_type(id, json_type_int))
		snprintf(at, sizeof at, "id %" PRId64, json_object_get_int64(id));
	else
		snprintf(at, sizeof at, "row %zu", r->index + 1);
	dq_die(DQ_EXIT_DATA, "GET /%s: %s: \"%s%s%s\" is %s%s%s", r->path, at,
	    field, sub ? "/" : "", sub ? sub : "", is ? is : "not ",
	    is ? ", expected " : "", want);
}

static _Noreturn void
bad_shape(const struct row *r, const char *field, const char *sub,
    json_object *v, const char *want)
{
	bad(r, field, sub, v ? dq_json_shape(v) : "missing", want);
}

static _Noreturn void
bad_form(const struct row *r, const char *field, const char *sub,
    const char *want)
{
	bad(r, field, sub, NULL, want);
}

/* Row i of the list rows that path answered. */
static struct row
row_at(const char *path, json_object *rows, size_t i)
{
	struct row r = { json_object_array_get_idx(rows, i), "", i };

	snprintf(r.path, sizeof r.path, "%s", path);
	if (!json_object_is_type(r.o, json_type_object))
		dq_die(DQ_EXIT_DATA, "GET /%s: row %zu is %s, expected an object",
		    path, i + 1, dq_json_shape(r.o));
	return r;
}

/* The length of a list that may be absent. */
static size_t
count(json_object *list)
{
	return list ? json_object_array_length(list) : 0;
}

/* field of the row (or, with sub, field's own member sub): NULL when
 * absent or null, else of type t. */
static json_object *
typed(const struct row *r, const char *field, const char *sub, json_type t,
    const char *want)
{
	json_object *v = dq_get(r->o, field);

	if (v && sub) {
		if (!json_object_is_type(v, json_type_object))
			bad_shape(r, field, NULL, v, "an object");
		v = dq_get(v, sub);
	}
	if (v && !json_object_is_type(v, t))
		bad_shape(r, field, sub, v, want);
	return v;
}

static const char *
str(const struct row *r, const char *field)
{
	json_object *v = typed(r, field, NULL, json_type_string, "a string");

	return v ? json_object_get_string(v) : NULL;
}

static const char *
ref_str(const struct row *r, const char *field, const char *sub)
{
	json_object *v = typed(r, field, sub, json_type_string, "a string");

	return v ? json_object_get_string(v) : NULL;
}

static bool
flag(const struct row *r, const char *field, bool dflt)
{
	json_object *v = typed(r, field, NULL, json_type_boolean, "true or false");

	return v ? json_object_get_boolean(v) : dflt;
}

static bool
num(const struct row *r, const char *field, long *out)
{
	json_object *v = typed(r, field, NULL, json_type_int, "a whole number");

	if (v)
		*out = (long)json_object_get_int64(v);
	return v != NULL;
}

static bool
ref_num(const struct row *r, const char *field, long *out)
{
	json_object *v = typed(r, field, "id", json_type_int, "a whole number");

	if (v)
		*out = (long)json_object_get_int64(v);
	return v != NULL;
}

/* A time field: absent or null is NULL, anything but an RFC 3339 time
 * a wrong shape. */
static const char *
time_of(const struct row *r, const char *field, const char *sub,
    char buf[DQ_TIMEBUF])
{
	json_object *v = typed(r, field, sub, json_type_string, "an RFC 3339 time");
	const char *t;

	if (!v)
		return NULL;
	if (!(t = fetch_time(json_object_get_string(v), buf)))
		bad_form(r, field, sub, "an RFC 3339 time");
	return t;
}

/* A team's members: ConnectWise member ids; absent or null is none. */
static json_object *
team_members(const struct row *r)
{
	json_object *m = typed(r, "members", NULL, json_type_array,
	    "a list of member ids");

	for (size_t i = 0; i < count(m); i++)
		if (!json_object_is_type(json_object_array_get_idx(m, i),
		    json_type_int))
			bad_shape(r, "members", NULL, json_object_array_get_idx(m,
			    i), "a list of member ids");
	return m;
}

static char *
id_string(long id)
{
	return dq_asprintf("%ld", id);
}

/* Conditions */

static void
add_in(struct dq_buf *c, const char *field, const struct dq_strlist *names)
{
	if (!names->n)
		return;
	dq_buf_printf(c, "%s%s in (", c->len ? " and " : "", field);
	for (size_t i = 0; i < names->n; i++) {
		char *q = dq_cw_quote(names->v[i]);

		dq_buf_printf(c, "%s%s", i ? "," : "", q);
		free(q);
	}
	dq_buf_add(c, ")", 1);
}

static char *
bracket_time(time_t t)
{
	char buf[DQ_TIMEBUF];

	return dq_asprintf("[%s]", dq_time_format(t, buf));
}

/* Lists rows of path whose field is one of ids, IDS_PER_QUERY at a time,
 * all appended to into. */
static void
list_by_ids(const char *path, const char *also, const char *field,
    const long *ids, size_t n, const char *fields, json_object *into)
{
	for (size_t i = 0; i < n; i += IDS_PER_QUERY) {
		struct dq_buf c = { 0 };

		dq_buf_printf(&c, "%s%s%s in (", also ? also : "",
		    also ? " and " : "", field);
		for (size_t j = i; j < n && j < i + IDS_PER_QUERY; j++)
			dq_buf_printf(&c, "%s%ld", j > i ? "," : "", ids[j]);
		dq_buf_add(&c, ")", 1);
		dq_cw_list(S.cw, path, c.s, fields, append, into);
		free(c.s);
	}
}

/* The graph */

static int
long_cmp(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

/* Every member of a team on the boards, each once. */
static size_t
team_member_ids(long **out)
{
	long *ids = NULL;
	size_t n = 0, k = 0;

	for (size_t b = 0; b < S.nb; b++) {
		for (size_t t = 0; t < count(S.bv[b].teams); t++) {
			struct row row = row_at(S.bv[b].teams_path, S.bv[b].teams, t);
			json_object *m = team_members(&row);

			for (size_t i = 0; i < count(m); i++) {
				ids = xrealloc(ids, (n + 1) * sizeof *ids);
				ids[n++] = (long)json_object_get_int64(
				    json_object_array_get_idx(m, i));
			}
		}
	}
	if (n)
		qsort(ids, n, sizeof *ids, long_cmp);
	for (size_t i = 0; i < n; i++)
		if (!k || ids[k - 1] != ids[i])
			ids[k++] = ids[i];
	*out = ids;
	return k;
}

/* The members of the teams, and one query (per hundred members) for all
 * their open tickets, counted by status later. */
static void
queue_people(void)
{
	long *ids;
	size_t n = team_member_ids(&ids);

	list_by_ids("system/members", NULL, "id", ids, n, MEMBER_FIELDS,
	    S.members);
	list_by_ids("service/tickets", "closedFlag=false", "owner/id", ids, n,
	    "id,owner/identifier,status/name", S.open);
	free(ids);
}

static void
got_teams(const struct dq_cw_reply *r, void *arg)
{
	struct board *b = arg;

	need(r);
	b->teams = json_object_get(r->body);
	if (--S.teams_left == 0)
		queue_people();
}

static void
got_statuses(const struct dq_cw_reply *r, void *arg)
{
	struct board *b = arg;

	need(r);
	b->statuses = json_object_get(r->body);
}

static void
warn_missing_boards(void)
{
	for (size_t i = 0; i < dq_policy.boards.n; i++) {
		size_t b;

		for (b = 0; b < S.nb && strcasecmp(S.bv[b].name,
		    dq_policy.boards.v[i]) != 0; b++)
			;
		if (b == S.nb && !dq_policy.quiet)
			dq_warnx("board \"%s\": no active board of that name",
			    dq_policy.boards.v[i]);
	}
}

static void
got_boards(const struct dq_cw_reply *r, void *arg)
{
	append(r, S.boards);
	S.nb = json_object_array_length(S.boards);
	S.bv = xcalloc(S.nb, sizeof *S.bv);
	S.teams_left = S.nb;
	for (size_t i = 0; i < S.nb; i++) {
		struct board *b = &S.bv[i];
		struct row row = row_at("service/boards", S.boards, i);

		if (!num(&row, "id", &b->id))
			bad_shape(&row, "id", NULL, NULL, "a whole number");
		if (!(b->name = str(&row, "name")))
			bad_shape(&row, "name", NULL, NULL, "a string");
		snprintf(b->statuses_path, sizeof b->statuses_path,
		    "service/boards/%ld/statuses", b->id);
		dq_cw_list(S.cw, b->statuses_path, NULL, "id,name,closedStatus",
		    got_statuses, b);
		snprintf(b->teams_path, sizeof b->teams_path,
		    "service/boards/%ld/teams", b->id);
		dq_cw_list(S.cw, b->teams_path, NULL, "id,name,members,defaultFlag",
		    got_teams, b);
	}
	warn_missing_boards();
	if (S.nb == 0)
		queue_people();
}

static void
got_holidays(const struct dq_cw_reply *r, void *arg)
{
	char *key = arg;

	need(r);
	json_object_object_add(S.holidays, key, json_object_get(r->body));
	free(key);
}

static void
got_calendars(const struct dq_cw_reply *r, void *arg)
{
	append(r, S.calendars);
	for (size_t i = 0; i < count(S.calendars); i++) {
		struct row row = row_at("schedule/calendars", S.calendars, i);
		long list;
		char path[96], *key;

		if (!ref_num(&row, "holidayList", &list))
			continue;
		key = id_string(list);
		if (json_object_object_get_ex(S.holidays, key, NULL)) {
			free(key);
			continue;
		}
		/* A placeholder, so two calendars share one request. */
		json_object_object_add(S.holidays, key, json_object_new_array());
		snprintf(path, sizeof path, "schedule/holidayLists/%ld/holidays",
		    list);
		dq_cw_list(S.cw, path, NULL, "id,date,allDayFlag,timeStart,timeEnd",
		    got_holidays, key);
	}
}

static void
got_other(const struct dq_cw_reply *r, void *arg)
{
	struct row row;

	need(r);
	/* A list of one on the sites seen; an object would do as well. */
	if (json_object_is_type(r->body, json_type_array)) {
		if (!count(r->body))
			return;
		row = row_at(OTHER, r->body, 0);
	} else {
		json_object *one = json_object_new_array();

		json_object_array_add(one, json_object_get(r->body));
		row = row_at(OTHER, one, 0);
		json_object_put(one);
	}
	S.other = json_object_get(row.o);
}

static bool
numeric(const char *s)
{
	return *s && strspn(s, "0123456789") == strlen(s) && strlen(s) < 10;
}

static void
queue_tickets(void)
{
	struct dq_buf c = { 0 };
	long *ids;
	size_t n = dq_policy.tickets.n;

	if (n) {
		ids = xcalloc(n, sizeof *ids);
		for (size_t i = 0; i < n; i++)
			ids[i] = strtol(dq_policy.tickets.v[i], NULL, 10);
		list_by_ids("service/tickets", NULL, "id", ids, n,
		    TICKET_FIELDS, S.tickets);
		free(ids);
		return;
	}
	dq_buf_printf(&c, "closedFlag=false");
	add_in(&c, "board/name", &dq_policy.boards);
	add_in(&c, "status/name", &dq_policy.trigger_statuses);
	dq_cw_list(S.cw, "service/tickets", c.s, TICKET_FIELDS, append,
	    S.tickets);
	free(c.s);
}

static void
queue_history(void)
{
	struct dq_buf c = { 0 };
	char *since;

	if (dq_policy.history_days == 0)
		return;
	since = bracket_time(S.now - dq_policy.history_days * 86400L);
	dq_buf_printf(&c, "closedFlag=true and closedDate>%s", since);
	add_in(&c, "board/name", &dq_policy.boards);
	dq_cw_list(S.cw, "service/tickets", c.s, HISTORY_FIELDS, append,
	    S.history);
	free(c.s);
	free(since);
}

/* Entries that can touch a slot: from a day before now to a day past the
 * horizon, so a slot's buffer sees its neighbours. */
static void
queue_entries(void)
{
	char *from = bracket_time(S.now - 86400);
	char *to = bracket_time(S.now + dq_policy.horizon_hours * 3600L + 86400);
	char *c = dq_asprintf("dateEnd>%s and dateStart<%s", from, to);

	dq_cw_list(S.cw, "schedule/entries", c, "id,objectId,member/identifier,"
	    "dateStart,dateEnd,type/identifier,acknowledgedFlag", append,
	    S.entries);
	free(c);
	free(from);
	free(to);
}

static void
queue_start(void)
{
	char *now = bracket_time(S.now), *c;
	struct dq_buf bc = { 0 };

	dq_buf_printf(&bc, "inactiveFlag=false");
	add_in(&bc, "name", &dq_policy.boards);
	dq_cw_list(S.cw, "service/boards", bc.s, "id,name", got_boards, NULL);
	free(bc.s);
	queue_tickets();
	queue_history();
	queue_entries();
	c = dq_asprintf("dateBack>%s", now);
	dq_cw_list(S.cw, "system/inOutBoards", c, "id,member/identifier,"
	    "inOutType/id,inOutType/name,dateBack,_info", append, S.inout);
	free(c);
	dq_cw_list(S.cw, "system/inOutTypes", NULL, "id,description", append,
	    S.inout_types);
	free(now);
	dq_cw_list(S.cw, "schedule/calendars", NULL, CALENDAR_FIELDS,
	    got_calendars, NULL);
	dq_cw_list(S.cw, "system/timeZoneSetups", NULL,
	    "id,name,timeZone/name,offset", append, S.zones);
	dq_cw_get(S.cw, OTHER, got_other, NULL);
}

/* Records */

static json_object *
new_record(const char *kind, const char *id)
{
	json_object *rec = json_object_new_object();

	fetch_set_str(rec, "kind", kind);
	fetch_set_str(rec, "id", id);
	return rec;
}

static void
add_num(json_object *o, const char *key, const struct row *row,
    const char *field)
{
	long n;

	if (ref_num(row, field, &n))
		json_object_object_add(o, key, json_object_new_int64(n));
}

static void
emit_board(struct board *b)
{
	char *id = id_string(b->id);
	json_object *rec = new_record("board", id);
	json_object *st = json_object_new_array(), *psa = json_object_new_object();
	json_object *ids = json_object_new_object();

	free(id);
	fetch_set_str(rec, "name", b->name);
	for (size_t i = 0; i < count(b->statuses); i++) {
		struct row row = row_at(b->statuses_path, b->statuses, i);
		const char *name = str(&row, "name");
		bool closed = flag(&row, "closedStatus", false);
		json_object *s;
		long sid;

		if (!name)
			continue;
		s = json_object_new_object();
		fetch_set_str(s, "name", name);
		json_object_object_add(s, "closed",
		    json_object_new_boolean(closed));
		json_object_array_add(st, s);
		if (num(&row, "id", &sid))
			json_object_object_add(ids, name, json_object_new_int64(sid));
	}
	json_object_object_add(rec, "statuses", st);
	json_object_object_add(psa, "id", json_object_new_int64(b->id));
	json_object_object_add(psa, "statuses", ids);
	json_object_object_add(rec, "psa", psa);
	fetch_add(rec);
}

/* The identifier of the member with ConnectWise id n, or NULL. */
static const char *
identifier_of(long n)
{
	for (size_t i = 0; i < count(S.members); i++) {
		struct row m = row_at("system/members", S.members, i);
		long id;

		if (num(&m, "id", &id) && id == n)
			return str(&m, "identifier");
	}
	return NULL;
}

static void
emit_team(struct board *b, const struct row *row)
{
	json_object *in = team_members(row);
	const char *name = str(row, "name");
	bool dflt = flag(row, "defaultFlag", false);
	json_object *members, *boards, *psa, *rec;
	char *id;
	long n;

	if (!num(row, "id", &n))
		return;
	rec = new_record("team", (id = id_string(n)));
	free(id);
	fetch_set_str(rec, "name", name);
	boards = json_object_new_array();
	json_object_array_add(boards, json_object_new_string(b->name));
	json_object_object_add(rec, "boards", boards);
	members = json_object_new_array();
	for (size_t i = 0; i < count(in); i++) {
		long m = (long)json_object_get_int64(json_object_array_get_idx(in, i));
		const char *who = identifier_of(m);

		if (who)
			json_object_array_add(members, json_object_new_string(who));
		else if (!dq_policy.quiet)
			dq_warnx("team %ld: member %ld not found", n, m);
	}
	json_object_object_add(rec, "members", members);
	json_object_object_add(rec, "default", json_object_new_boolean(dflt));
	psa = json_object_new_object();
	json_object_object_add(psa, "id", json_object_new_int64(n));
	json_object_object_add(psa, "board", json_object_new_int64(b->id));
	json_object_object_add(rec, "psa", psa);
	fetch_add(rec);
}

/* The teams (by id) that list member n. */
static json_object *
teams_of(long n)
{
	json_object *teams = json_object_new_array();
	long *ids = NULL;
	size_t k = 0;

	for (size_t b = 0; b < S.nb; b++) {
		for (size_t t = 0; t < count(S.bv[b].teams); t++) {
			struct row row = row_at(S.bv[b].teams_path, S.bv[b].teams, t);
			json_object *m = team_members(&row);
			long id;

			for (size_t i = 0; i < count(m); i++)
				if (json_object_get_int64(json_object_array_get_idx(m,
				    i)) == n && num(&row, "id", &id)) {
					ids = xrealloc(ids, (k + 1) * sizeof *ids);
					ids[k++] = id;
				}
		}
	}
	if (k)
		qsort(ids, k, sizeof *ids, long_cmp);
	for (size_t i = 0; i < k; i++) {
		char *s = id_string(ids[i]);

		json_object_array_add(teams, json_object_new_string(s));
		free(s);
	}
	free(ids);
	return teams;
}

/* A time of day: "08:00:00", "08:00" or "...T08:00:00Z" -> "08:00";
 * false when absent or null. */
static bool
clock_of(const struct row *r, const char *field, char out[6])
{
	const char *s = str(r, field), *t;

	if (!s)
		return false;
	if ((t = strchr(s, 'T')))
		s = t + 1;
	if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) ||
	    s[2] != ':' || !isdigit((unsigned char)s[3]) ||
	    !isdigit((unsigned char)s[4]))
		bad_form(r, field, NULL, "a time of day");
	memcpy(out, s, 5);
	out[5] = '\0';
	return true;
}

static json_object *
calendar_hours(const struct row *cal)
{
	static const char *const days[7][2] = {
		{ "monday", "mon" }, { "tuesday", "tue" },
		{ "wednesday", "wed" }, { "thursday", "thu" },
		{ "friday", "fri" }, { "saturday", "sat" }, { "sunday", "sun" },
	};
	json_object *hours = json_object_new_object();

	for (int d = 0; d < 7; d++) {
		char key[32], start[6], end[6];
		json_object *pair;

		snprintf(key, sizeof key, "%sStartTime", days[d][0]);
		if (!clock_of(cal, key, start))
			continue;	/* null: a day off */
		snprintf(key, sizeof key, "%sEndTime", days[d][0]);
		if (!clock_of(cal, key, end))
			continue;
		/* A calendar day ends by midnight: 00:00 is its end, where
		 * dq would read a night shift into the next day. */
		if (!strcmp(end, "00:00"))
			strcpy(end, "24:00");
		pair = json_object_new_array();
		json_object_array_add(pair, json_object_new_string(start));
		json_object_array_add(pair, json_object_new_string(end));
		json_object_object_add(hours, days[d][1], pair);
	}
	return hours;
}

/* "2026-12-25", maybe with a time after it. */
static bool
is_date(const char *s)
{
	for (int i = 0; i < 10; i++)
		if (i == 4 || i == 7 ? s[i] != '-' : !isdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* Holidays from a day ago to a year ahead: all a dispatch can meet. */
static json_object *
calendar_holidays(const struct row *cal)
{
	json_object *out = json_object_new_array(), *rows = NULL;
	char *key, from[DQ_TIMEBUF], to[DQ_TIMEBUF], path[96];
	long list;

	if (!ref_num(cal, "holidayList", &list))
		return out;
	key = id_string(list);
	json_object_object_get_ex(S.holidays, key, &rows);
	free(key);
	snprintf(path, sizeof path, "schedule/holidayLists/%ld/holidays", list);
	dq_time_format(S.now - 86400, from);
	dq_time_format(S.now + 366 * 86400L, to);
	for (size_t i = 0; i < count(rows); i++) {
		struct row row = row_at(path, rows, i);
		const char *date = str(&row, "date");
		bool all_day = flag(&row, "allDayFlag", true);
		char day[11], start[6], end[6];
		json_object *h;

		if (!date)
			continue;
		if (!is_date(date))
			bad_form(&row, "date", NULL, "a date");
		snprintf(day, sizeof day, "%.10s", date);
		if (strncmp(day, from, 10) < 0 || strncmp(day, to, 10) > 0)
			continue;
		if (all_day || !clock_of(&row, "timeStart", start) ||
		    !clock_of(&row, "timeEnd", end)) {
			json_object_array_add(out, json_object_new_string(day));
			continue;
		}
		h = json_object_new_object();
		fetch_set_str(h, "date", day);
		fetch_set_str(h, "start", start);
		fetch_set_str(h, "end", end);
		json_object_array_add(out, h);
	}
	return out;
}

/* The member's calendar, else the company's default, else none. */
static bool
calendar_of(const struct row *member, struct row *cal)
{
	struct row other = { S.other, OTHER, 0 };
	long want;

	if (!ref_num(member, "calendar", &want) &&
	    !ref_num(&other, "defaultCalendar", &want))
		return false;
	for (size_t i = 0; i < count(S.calendars); i++) {
		long id;

		*cal = row_at("schedule/calendars", S.calendars, i);
		if (num(cal, "id", &id) && id == want)
			return true;
	}
	return false;
}

/* The member's time zone setup: its name and, from /system/timeZoneSetups,
 * its Windows zone id and offset. */
static struct fetch_zone_setup
zone_setup_of(const struct row *member)
{
	struct fetch_zone_setup z = { ref_str(member, "timeZone", "name"),
	    NULL, false, false, 0 };
	long want, id;

	if (!ref_num(member, "timeZone", &want))
		return z;
	for (size_t i = 0; i < count(S.zones); i++) {
		struct row row = row_at("system/timeZoneSetups", S.zones, i);
		json_object *offset;

		if (!num(&row, "id", &id) || id != want)
			continue;
		z.listed = true;
		z.name = str(&row, "name");
		z.windows = ref_str(&row, "timeZone", "name");
		offset = dq_get(row.o, "offset");
		if (offset && !json_object_is_type(offset, json_type_int) &&
		    !json_object_is_type(offset, json_type_double))
			bad_shape(&row, "offset", NULL, offset, "a number");
		if ((z.has_offset = offset != NULL))
			z.offset = json_object_get_double(offset);
		break;
	}
	return z;
}

/* The name of an In/Out entry's type: its reference's, else the type's
 * own description; NULL when neither says. */
static const char *
inout_type(const struct row *entry)
{
	const char *name = ref_str(entry, "inOutType", "name");
	long want, id;

	if (name || !ref_num(entry, "inOutType", &want))
		return name;
	for (size_t i = 0; i < count(S.inout_types); i++) {
		struct row row = row_at("system/inOutTypes", S.inout_types, i);

		if (num(&row, "id", &id) && id == want)
			return str(&row, "description");
	}
	return NULL;
}

/* Absences from the In/Out board, by member identifier: each entry not
 * of an --available-in-out type, from when it was entered (the board
 * keeps no start; else when it was last changed, else now) until
 * dateBack (DESIGN §5). */
static json_object *
collect_away(void)
{
	json_object *by_member = json_object_new_object();

	for (size_t i = 0; i < count(S.inout); i++) {
		struct row row = row_at("system/inOutBoards", S.inout, i);
		const char *who = ref_str(&row, "member", "identifier");
		const char *type = inout_type(&row);
		char sbuf[DQ_TIMEBUF], ebuf[DQ_TIMEBUF];
		const char *end = time_of(&row, "dateBack", NULL, ebuf);
		const char *start = time_of(&row, "_info", "dateEntered", sbuf);
		json_object *list = NULL;

		if (!start)
			start = time_of(&row, "_info", "lastUpdated", sbuf);
		if (!start)
			start = dq_time_format(S.now, sbuf);
		if (!who || !end || strcmp(start, end) >= 0)
			continue;
		json_object_object_get_ex(by_member, who, &list);
		fetch_away_add(&list, start, end, type);
		if (list && !dq_get(by_member, who))
			json_object_object_add(by_member, who, list);
	}
	return by_member;
}

/* An --available-in-out type the site does not have is likely a typo,
 * which would count working people as absent. */
static void
warn_unknown_types(void)
{
	const struct dq_strlist *l = &dq_policy.available_in_out;

	if (dq_policy.quiet || dq_policy_default(l))
		return;
	for (size_t i = 0; i < l->n; i++) {
		size_t t;

		for (t = 0; t < count(S.inout_types); t++) {
			struct row row = row_at("system/inOutTypes",
			    S.inout_types, t);
			const char *name = str(&row, "description");

			if (name && !strcasecmp(name, l->v[i]))
				break;
		}
		if (*l->v[i] && t == count(S.inout_types))
			dq_warnx("--available-in-out \"%s\": no In/Out type of "
			    "that name", l->v[i]);
	}
}

/* Open tickets by owner, then by status. */
static json_object *
count_open(void)
{
	json_object *by_owner = json_object_new_object();

	for (size_t i = 0; i < count(S.open); i++) {
		struct row row = row_at("service/tickets", S.open, i);
		const char *who = ref_str(&row, "owner", "identifier");
		const char *status = ref_str(&row, "status", "name");
		json_object *m, *c;

		if (!who || !status)
			continue;
		if (!json_object_object_get_ex(by_owner, who, &m)) {
			m = json_object_new_object();
			json_object_object_add(by_owner, who, m);
		}
		c = dq_get(m, status);
		json_object_object_add(m, status, json_object_new_int64(
		    c ? json_object_get_int64(c) + 1 : 1));
	}
	return by_owner;
}

static void
emit_member(const struct row *row, json_object *open, json_object *absences)
{
	const char *who = str(row, "identifier");
	const char *first = str(row, "firstName");
	const char *last = str(row, "lastName");
	struct fetch_zone_setup setup = zone_setup_of(row);
	const char *zone = fetch_zone(&setup);
	bool archived = flag(row, "inactiveFlag", false);
	char *name, buf[DQ_TIMEBUF];
	const char *hired = time_of(row, "hireDate", NULL, buf);
	struct row cal;
	bool has_cal = calendar_of(row, &cal);
	json_object *mine, *psa, *rec, *away;
	long n;

	if (!who || !num(row, "id", &n))
		return;
	away = dq_get(absences, who);
	rec = new_record("member", who);
	name = dq_asprintf("%s%s%s", first ? first : "", first && last ? " " : "",
	    last ? last : "");
	fetch_set_str(rec, "name", *name ? name : who);
	free(name);
	json_object_object_add(rec, "teams", teams_of(n));
	fetch_set_str(rec, "status", fetch_away_settle(away) ? "OFFLINE" :
	    "ONLINE");
	json_object_object_add(rec, "archived", json_object_new_boolean(archived));
	json_object_object_add(rec, "open", json_object_object_get_ex(open, who,
	    &mine) ? json_object_get(mine) : json_object_new_object());
	if (hired)
		fetch_set_str(rec, "created_at", hired);
	if (zone)
		fetch_set_str(rec, "tz", zone);
	if (has_cal) {
		json_object_object_add(rec, "hours", calendar_hours(&cal));
		json_object_object_add(rec, "holidays", calendar_holidays(&cal));
	}
	if (away)
		json_object_object_add(rec, "away", json_object_get(away));
	psa = json_object_new_object();
	json_object_object_add(psa, "id", json_object_new_int64(n));
	json_object_object_add(rec, "psa", psa);
	fetch_add(rec);
}

/* ConnectWise's type, subtype and item are the ticket's labels. */
static json_object *
labels_of(const char *const v[3])
{
	json_object *labels = json_object_new_array();

	for (int i = 0; i < 3; i++) {
		char *l;

		if (!v[i] || !*v[i])
			continue;
		l = xstrdup(v[i]);
		for (char *p = l; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		json_object_array_add(labels, json_object_new_string(l));
		free(l);
	}
	return labels;
}

static void
emit_ticket(const struct row *row)
{
	const char *cls[3] = { ref_str(row, "type", "name"),
	    ref_str(row, "subType", "name"), ref_str(row, "item", "name") };
	const char *summary = str(row, "summary");
	const char *board = ref_str(row, "board", "name");
	const char *status = ref_str(row, "status", "name");
	const char *company = ref_str(row, "company", "name");
	const char *priority = ref_str(row, "priority", "name");
	const char *owner = ref_str(row, "owner", "identifier");
	char entered_buf[DQ_TIMEBUF], updated_buf[DQ_TIMEBUF], *id;
	const char *entered = time_of(row, "_info", "dateEntered", entered_buf);
	const char *updated = time_of(row, "_info", "lastUpdated", updated_buf);
	json_object *psa, *rec;
	long n, team;
	bool has_team = ref_num(row, "team", &team);

	if (!num(row, "id", &n))
		return;
	rec = new_record("ticket", (id = id_string(n)));
	free(id);
	fetch_set_str(rec, "summary", summary);
	fetch_set_str(rec, "board", board);
	fetch_set_str(rec, "status", status);
	fetch_set_str(rec, "company", company);
	fetch_set_str(rec, "priority", priority);
	json_object_object_add(rec, "labels", labels_of(cls));
	fetch_set_str(rec, "type", cls[0]);
	fetch_set_str(rec, "subtype", cls[1]);
	fetch_set_str(rec, "item", cls[2]);
	fetch_set_str(rec, "owner", owner);
	id = has_team ? id_string(team) : NULL;
	fetch_set_str(rec, "team", id);
	free(id);
	fetch_set_str(rec, "entered_at", entered);
	fetch_set_str(rec, "updated_at", updated);
	psa = json_object_new_object();
	json_object_object_add(psa, "id", json_object_new_int64(n));
	add_num(psa, "board", row, "board");
	add_num(psa, "status", row, "status");
	add_num(psa, "company", row, "company");
	add_num(psa, "priority", row, "priority");
	add_num(psa, "owner", row, "owner");
	add_num(psa, "team", row, "team");
	json_object_object_add(rec, "psa", psa);
	fetch_add(rec);
}

static void
emit_history(const struct row *row)
{
	const char *owner = ref_str(row, "owner", "identifier");
	const char *f[] = { ref_str(row, "board", "name"),
	    ref_str(row, "company", "name"), ref_str(row, "type", "name"),
	    ref_str(row, "subType", "name"), ref_str(row, "item", "name"),
	    str(row, "summary") };
	char buf[DQ_TIMEBUF], *id;
	const char *closed = time_of(row, "closedDate", NULL, buf);
	json_object *rec, *hours = dq_get(row->o, "actualHours");
	long n;

	if (hours && !json_object_is_type(hours, json_type_int) &&
	    !json_object_is_type(hours, json_type_double))
		bad_shape(row, "actualHours", NULL, hours, "a number");
	/* Nobody to credit: no signal. */
	if (!owner || !num(row, "id", &n))
		return;
	rec = new_record("history", (id = id_string(n)));
	fetch_set_str(rec, "ticket", id);
	free(id);
	fetch_set_str(rec, "owner", owner);
	fetch_set_str(rec, "board", f[0]);
	fetch_set_str(rec, "company", f[1]);
	fetch_set_str(rec, "type", f[2]);
	fetch_set_str(rec, "subtype", f[3]);
	fetch_set_str(rec, "item", f[4]);
	fetch_set_str(rec, "summary", f[5]);
	fetch_set_str(rec, "closed_at", closed);
	json_object_object_add(rec, "hours", json_object_get(hours));
	fetch_add(rec);
}

static void
emit_entry(const struct row *row)
{
	const char *who = ref_str(row, "member", "identifier");
	const char *type = ref_str(row, "type", "identifier");
	char start[DQ_TIMEBUF], end[DQ_TIMEBUF], *id;
	bool timed = time_of(row, "dateStart", NULL, start) &&
	    time_of(row, "dateEnd", NULL, end);
	bool acknowledged = flag(row, "acknowledgedFlag", false);
	bool has_object = num(row, "objectId", &(long){ 0 });
	json_object *rec, *psa;
	long n, object;

	if (!who || !num(row, "id", &n) || !timed)
		return;
	rec = new_record("entry", (id = id_string(n)));
	free(id);
	fetch_set_str(rec, "member", who);
	fetch_set_str(rec, "start", start);
	fetch_set_str(rec, "end", end);
	/* Type S is a service or project ticket, objectId its number. */
	if (type && !strcmp(type, "S") && has_object &&
	    num(row, "objectId", &object)) {
		id = id_string(object);
		fetch_set_str(rec, "ticket", id);
		free(id);
	}
	json_object_object_add(rec, "acknowledged",
	    json_object_new_boolean(acknowledged));
	psa = json_object_new_object();
	json_object_object_add(psa, "id", json_object_new_int64(n));
	if (type)
		fetch_set_str(psa, "type", type);
	json_object_object_add(rec, "psa", psa);
	fetch_add(rec);
}

static void
emit_all(void)
{
	json_object *open = count_open(), *away = collect_away();

	for (size_t b = 0; b < S.nb; b++) {
		emit_board(&S.bv[b]);
		for (size_t t = 0; t < count(S.bv[b].teams); t++) {
			struct row row = row_at(S.bv[b].teams_path, S.bv[b].teams, t);

			emit_team(&S.bv[b], &row);
		}
	}
	for (size_t i = 0; i < count(S.members); i++) {
		struct row row = row_at("system/members", S.members, i);

		emit_member(&row, open, away);
	}
	for (size_t i = 0; i < count(S.entries); i++) {
		struct row row = row_at("schedule/entries", S.entries, i);

		emit_entry(&row);
	}
	for (size_t i = 0; i < count(S.history); i++) {
		struct row row = row_at("service/tickets", S.history, i);

		emit_history(&row);
	}
	for (size_t i = 0; i < count(S.tickets); i++) {
		struct row row = row_at("service/tickets", S.tickets, i);

		emit_ticket(&row);
	}
	json_object_put(open);
	json_object_put(away);
}

/* The journal: open tickets dq assigned, for dq-watch (DESIGN §5, §6). */

/* A ticket dq gave an owner or a team, and that ConnectWise took. */
static void
journal_line(const struct dq_journal_line *jl, void *arg)
{
	struct dq_strlist *ids = arg;
	const char *decision = dq_get_str(dq_get(jl->record, "dispatch"),
	    "outcome");

	if (dq_journal_settles(jl) && strcmp(decision, "unassigned") != 0 &&
	    jl->ticket && numeric(jl->ticket) && !dq_strlist_has(ids, jl->ticket))
		dq_strlist_add(ids, jl->ticket);
}

static void
queue_journal(void)
{
	struct dq_strlist ids = { 0 };
	long *v;

	dq_journal_read(&dq_policy.journals, journal_line, &ids);
	if (!ids.n)
		return;
	v = xcalloc(ids.n, sizeof *v);
	for (size_t i = 0; i < ids.n; i++)
		v[i] = strtol(ids.v[i], NULL, 10);
	list_by_ids("service/tickets", "closedFlag=false", "id", v, ids.n,
	    TICKET_FIELDS, S.tickets);
	free(v);
	dq_strlist_clear(&ids);
}

static void
check_ticket_ids(void)
{
	for (size_t i = 0; i < dq_policy.tickets.n; i++) {
		if (numeric(dq_policy.tickets.v[i]))
			continue;
		dq_usage("--ticket: expected a ticket number, not \"%s\"",
		    dq_policy.tickets.v[i]);
	}
}

static void
free_state(void)
{
	json_object *all[] = { S.boards, S.tickets, S.history, S.inout,
	    S.inout_types, S.entries, S.calendars, S.members, S.open, S.other,
	    S.holidays, S.zones };

	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		json_object_put(all[i]);
	for (size_t b = 0; b < S.nb; b++) {
		json_object_put(S.bv[b].statuses);
		json_object_put(S.bv[b].teams);
	}
	free(S.bv);
}

void
fetch_connectwise(void)
{
	check_ticket_ids();
	if (dq_policy.zone_map && *dq_policy.zone_map)
		fetch_zone_load(dq_policy.zone_map);
	S.cw = dq_cw_open();
	S.now = dq_now();
	S.boards = json_object_new_array();
	S.tickets = json_object_new_array();
	S.history = json_object_new_array();
	S.inout = json_object_new_array();
	S.inout_types = json_object_new_array();
	S.entries = json_object_new_array();
	S.calendars = json_object_new_array();
	S.members = json_object_new_array();
	S.open = json_object_new_array();
	S.holidays = json_object_new_object();
	S.zones = json_object_new_array();
	queue_start();
	if (!dq_policy.tickets.n)
		queue_journal();
	dq_cw_run(S.cw);
	dq_cw_close(S.cw);
	warn_unknown_types();
	emit_all();
	free_state();
}
