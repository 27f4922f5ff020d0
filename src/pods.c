/* pods.c: the pods file of dq-pods(5), a CSV of who serves which
 * customers and when.
 *
 * The file names people and companies as the PSA spells them. Context
 * records arrive on the stream after the file is read, so names become
 * member ids only when the first ticket arrives (dq_pods_resolve); a name
 * that matches nothing is reported and ignored, never guessed. */
#include <config.h>

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <csv.h>

#include "dq.h"

enum column { COL_POD, COL_MEMBER, COL_COMPANY, COL_HOURS, COL_TZ, NCOLS };

static const char *const column_names[NCOLS] = {
	"pod", "member", "company", "hours", "tz"
};

struct pod {
	char *name;
	struct dq_strlist members;	/* member ids, once resolved; sorted */
};

/* A row that puts a member in a pod, with the hours and zone the pod
 * gives that member, if any. */
struct pod_member {
	size_t pod;
	char *name;
	size_t line;
	bool has_hours;
	struct dq_hours hours;
	char *tz;		/* NULL: the member's own */
	char *id;		/* the member so named; NULL if none (yet) */
};

/* A row that makes a company one of a pod's customers. */
struct pod_company {
	size_t pod;
	char *name;
	size_t line;
	bool unknown;		/* no company record has this name: ignored */
};

struct dq_pods {
	char *name;		/* the file's, for messages */
	char *text;		/* its bytes, for the config digest */
	size_t len;
	struct pod *pod;
	size_t npod;
	struct pod_member *member;
	size_t nmember;
	struct pod_company *company;
	size_t ncompany;
	bool resolved;
};

/* The state of one parse, handed to libcsv's callbacks. */
struct reader {
	struct dq_pods *p;
	size_t line;
	int col[NCOLS];		/* field index of each column; -1: absent */
	size_t ncols;
	bool header_done;
	struct dq_strlist fields;	/* of the record being read */
	char *err;
	size_t errlen;
	bool failed;
};

/* Records the first error, the one to fix; returns false. */
static bool fail(struct reader *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static bool
fail(struct reader *r, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (r->failed)
		return false;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	dq_printable(msg);
	snprintf(r->err, r->errlen, "%s:%zu: %s", r->p->name, r->line, msg);
	r->failed = true;
	return false;
}

/* Reading the CSV */

static size_t
find_pod(const struct dq_pods *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->npod; i++)
		if (!strcmp(p->pod[i].name, name))
			return i;
	return i;
}

static size_t
add_pod(struct dq_pods *p, const char *name)
{
	size_t i = find_pod(p, name);

	if (i < p->npod)
		return i;
	p->pod = xrealloc(p->pod, (p->npod + 1) * sizeof *p->pod);
	p->pod[i] = (struct pod){ .name = xstrdup(name) };
	p->npod++;
	return i;
}

static const char *
field(const struct reader *r, enum column c)
{
	if (r->col[c] < 0 || (size_t)r->col[c] >= r->fields.n)
		return "";
	return r->fields.v[r->col[c]];
}

static bool
read_header(struct reader *r)
{
	for (size_t i = 0; i < NCOLS; i++)
		r->col[i] = -1;
	for (size_t i = 0; i < r->fields.n; i++) {
		size_t c;

		for (c = 0; c < NCOLS; c++)
			if (!strcasecmp(r->fields.v[i], column_names[c]))
				break;
		if (c == NCOLS)
			return fail(r, "unknown column \"%s\" (the columns are "
			    "pod, member, company, hours and tz)",
			    dq_excerpt(r->fields.v[i]));
		if (r->col[c] >= 0)
			return fail(r, "column \"%s\" given twice", column_names[c]);
		r->col[c] = (int)i;
	}
	if (r->col[COL_POD] < 0)
		return fail(r, "no \"pod\" column");
	if (r->col[COL_MEMBER] < 0 && r->col[COL_COMPANY] < 0)
		return fail(r, "no \"member\" or \"company\" column");
	r->ncols = r->fields.n;
	r->header_done = true;
	return true;
}

static int
stretch_cmp(const void *a, const void *b)
{
	const int *x = a, *y = b;	/* {start, end} */

	if (x[0] != y[0])
		return x[0] < y[0] ? -1 : 1;
	return (x[1] > y[1]) - (x[1] < y[1]);
}

/* Whether two weekly patterns are the same, whatever order each lists
 * its stretches in. */
static bool
same_hours(const struct dq_hours *a, const struct dq_hours *b)
{
	for (int d = 0; d < 7; d++) {
		int x[DQ_MAX_STRETCHES][2], y[DQ_MAX_STRETCHES][2];
		int n = a->nstretch[d];

		if (n != b->nstretch[d])
			return false;
		for (int i = 0; i < n; i++) {
			x[i][0] = a->stretch[d][i].start;
			x[i][1] = a->stretch[d][i].end;
			y[i][0] = b->stretch[d][i].start;
			y[i][1] = b->stretch[d][i].end;
		}
		qsort(x, (size_t)n, sizeof x[0], stretch_cmp);
		qsort(y, (size_t)n, sizeof y[0], stretch_cmp);
		if (memcmp(x, y, (size_t)n * sizeof x[0]))
			return false;
	}
	return true;
}

/* Hours or a zone the same member was given on an earlier row, which
 * must agree: a member works one pattern whatever the pod. */
static bool
agrees(struct reader *r, const struct pod_member *m)
{
	for (size_t i = 0; i + 1 < r->p->nmember; i++) {
		const struct pod_member *o = &r->p->member[i];

		if (strcmp(o->name, m->name))
			continue;
		if (o->has_hours && m->has_hours &&
		    !same_hours(&o->hours, &m->hours))
			return fail(r, "hours for \"%s\" differ from those on "
			    "line %zu", dq_excerpt(m->name), o->line);
		if (o->tz && m->tz && strcmp(o->tz, m->tz))
			return fail(r, "tz for \"%s\" differs from the one on "
			    "line %zu", dq_excerpt(m->name), o->line);
	}
	return true;
}

static bool
read_member(struct reader *r, size_t pod, const char *name)
{
	struct dq_pods *p = r->p;
	struct pod_member *m;
	const char *hours = field(r, COL_HOURS), *tz = field(r, COL_TZ);
	char err[256];

	p->member = xrealloc(p->member, (p->nmember + 1) * sizeof *p->member);
	m = &p->member[p->nmember++];
	*m = (struct pod_member){ .pod = pod, .name = xstrdup(name),
	    .line = r->line };
	if (*hours) {
		/* The struct is zeroed, so a failed parse leaves nothing to free. */
		if (!dq_hours_parse_text(hours, &m->hours, err, sizeof err))
			return fail(r, "%s", err);
		m->has_hours = true;
	}
	if (*tz) {
		if (!dq_zone_valid(tz))
			return fail(r, "unknown time zone \"%s\"", dq_excerpt(tz));
		m->tz = xstrdup(tz);
	}
	return agrees(r, m);
}

static bool
read_company(struct reader *r, size_t pod, const char *name)
{
	struct dq_pods *p = r->p;

	for (size_t i = 0; i < p->ncompany; i++) {
		if (strcmp(p->company[i].name, name))
			continue;
		if (p->company[i].pod != pod)
			return fail(r, "company \"%s\" is already in pod \"%s\" "
			    "(line %zu)", dq_excerpt(name),
			    dq_excerpt(p->pod[p->company[i].pod].name),
			    p->company[i].line);
		return true;
	}
	p->company = xrealloc(p->company, (p->ncompany + 1) * sizeof *p->company);
	p->company[p->ncompany++] = (struct pod_company){ .pod = pod,
	    .name = xstrdup(name), .line = r->line };
	return true;
}

static bool
read_row(struct reader *r)
{
	const char *pod = field(r, COL_POD), *member = field(r, COL_MEMBER);
	const char *company = field(r, COL_COMPANY);
	bool blank = true;
	size_t i;

	for (i = 0; i < r->fields.n; i++)
		blank = blank && !*r->fields.v[i];
	if (blank)	/* ",,,," rows that spreadsheets leave behind */
		return true;
	if (r->fields.n > r->ncols)
		return fail(r, "%zu fields, but the header names %zu columns",
		    r->fields.n, r->ncols);
	if (!*pod)
		return fail(r, "no pod name");
	if (!*member && (*field(r, COL_HOURS) || *field(r, COL_TZ)))
		return fail(r, "hours and tz belong to a member, and this row "
		    "names none");
	i = add_pod(r->p, pod);
	if (*member && !read_member(r, i, member))
		return false;
	return !*company || read_company(r, i, company);
}

static void
on_field(void *data, size_t len, void *arg)
{
	struct reader *r = arg;
	char *s = xmalloc(len + 1);

	if (len)
		memcpy(s, data, len);
	s[len] = '\0';
	dq_strlist_add(&r->fields, s);
	free(s);
}

static void
on_record(int end, void *arg)
{
	struct reader *r = arg;

	if (!r->failed) {
		if (r->header_done)
			read_row(r);
		else
			read_header(r);
	}
	dq_strlist_clear(&r->fields);
}

/* Feeds the text a line at a time, so messages can name the line. */
static void
feed(struct reader *r, struct csv_parser *csv, const char *buf, size_t len)
{
	size_t at = 0;

	/* Spreadsheets often start a UTF-8 export with a byte order mark. */
	if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3))
		at = 3;
	while (at < len && !r->failed) {
		const char *nl = memchr(buf + at, '\n', len - at);
		size_t n = nl ? (size_t)(nl - (buf + at)) + 1 : len - at;

		r->line++;
		if (csv_parse(csv, buf + at, n, on_field, on_record, r) != n)
			fail(r, "malformed CSV: %s", csv_strerror(csv_error(csv)));
		at += n;
	}
	if (!r->failed && csv_fini(csv, on_field, on_record, r) != 0)
		fail(r, "malformed CSV: %s", csv_strerror(csv_error(csv)));
	if (!r->failed && !r->header_done) {
		r->line = r->line ? r->line : 1;	/* an empty file */
		fail(r, "no header line (pod,member,company,hours,tz)");
	}
}

struct dq_pods *
dq_pods_parse(const char *buf, size_t len, const char *name, char *err,
    size_t errlen)
{
	struct dq_pods *p = xcalloc(1, sizeof *p);
	struct reader r = { .p = p, .err = err, .errlen = errlen };
	struct csv_parser csv;

	p->name = xstrdup(name);
	p->text = xmalloc(len + 1);
	memcpy(p->text, buf, len);
	p->text[len] = '\0';
	p->len = len;
	if (csv_init(&csv, CSV_STRICT | CSV_STRICT_FINI) != 0)
		dq_die(DQ_EXIT_SOFTWARE, "csv_init failed");
	feed(&r, &csv, buf, len);
	csv_free(&csv);
	dq_strlist_clear(&r.fields);
	if (r.failed) {
		dq_pods_free(p);
		return NULL;
	}
	return p;
}

struct dq_pods *
dq_pods_load(const char *path)
{
	size_t len;
	char *buf = dq_slurp(path, &len), err[1024];
	struct dq_pods *p = dq_pods_parse(buf, len, path, err, sizeof err);

	free(buf);
	if (!p)
		dq_die(DQ_EXIT_CONFIG, "%s", err);
	return p;
}

void
dq_pods_free(struct dq_pods *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->npod; i++) {
		free(p->pod[i].name);
		dq_strlist_clear(&p->pod[i].members);
	}
	for (size_t i = 0; i < p->nmember; i++) {
		free(p->member[i].name);
		free(p->member[i].tz);
		free(p->member[i].id);
	}
	for (size_t i = 0; i < p->ncompany; i++)
		free(p->company[i].name);
	free(p->pod);
	free(p->member);
	free(p->company);
	free(p->name);
	free(p->text);
	free(p);
}

const char *
dq_pods_text(const struct dq_pods *p, size_t *len)
{
	*len = p->len;
	return p->text;
}

/* Resolving names */

static void
report_conflicts(const struct dq_pods *p, const struct pod_member *pm,
    const struct dq_member *m)
{
	if (pm->has_hours && dq_get(m->rec, "hours") &&
	    !same_hours(&pm->hours, &m->hours))
		dq_warnx("%s:%zu: hours of \"%s\" differ from the member "
		    "record's; the pod's apply", p->name, pm->line, pm->name);
	if (pm->tz && m->tz && strcmp(pm->tz, m->tz))
		dq_warnx("%s:%zu: tz of \"%s\" is %s here but %s in the member "
		    "record; the pod's applies", p->name, pm->line, pm->name,
		    pm->tz, m->tz);
}

static void
resolve_member(struct dq_pods *p, struct pod_member *pm,
    struct dq_member **all, size_t n, bool report)
{
	struct dq_member *found = NULL;
	size_t count = 0;

	for (size_t i = 0; i < n; i++) {
		const char *name = dq_get_str(all[i]->rec, "name");

		if (name && !strcmp(name, pm->name)) {
			found = all[i];
			count++;
		}
	}
	if (count != 1) {
		if (report && count == 0)
			dq_warnx("%s:%zu: no member named \"%s\"", p->name,
			    pm->line, pm->name);
		else if (report)
			dq_warnx("%s:%zu: %zu members are named \"%s\"; none is "
			    "taken", p->name, pm->line, count, pm->name);
		return;
	}
	pm->id = xstrdup(found->id);
	if (!dq_strlist_has(&p->pod[pm->pod].members, found->id))
		dq_strlist_add(&p->pod[pm->pod].members, found->id);
	if (report)
		report_conflicts(p, pm, found);
}

void
dq_pods_resolve(struct dq_pods *p, struct dq_context *ctx, bool report)
{
	struct dq_member **all;
	size_t n;

	if (p->resolved)
		return;
	p->resolved = true;
	report = report && !dq_policy.quiet;
	n = dq_member_list(ctx, &all);
	for (size_t i = 0; i < p->nmember; i++)
		resolve_member(p, &p->member[i], all, n, report);
	free(all);
	for (size_t i = 0; i < p->npod; i++)
		if (p->pod[i].members.n > 1)	/* v is NULL when empty */
			qsort(p->pod[i].members.v, p->pod[i].members.n,
			    sizeof *p->pod[i].members.v, dq_strcmp_ptr);
	if (!dq_companies_known(ctx))
		return;	/* nothing to check the names against */
	for (size_t i = 0; i < p->ncompany; i++) {
		struct pod_company *c = &p->company[i];

		c->unknown = !dq_company_named(ctx, c->name);
		if (c->unknown && report)
			dq_warnx("%s:%zu: no company named \"%s\"", p->name,
			    c->line, c->name);
	}
}

/* Questions the stages ask */

bool
dq_pods_exists(const struct dq_pods *p, const char *pod)
{
	return p && find_pod(p, pod) < p->npod;
}

const char *
dq_pods_of_company(const struct dq_pods *p, const char *company)
{
	for (size_t i = 0; p && company && i < p->ncompany; i++)
		if (!p->company[i].unknown && !strcmp(p->company[i].name, company))
			return p->pod[p->company[i].pod].name;
	return NULL;
}

const struct dq_strlist *
dq_pods_members(const struct dq_pods *p, const char *pod)
{
	size_t i;

	if (!p || (i = find_pod(p, pod)) == p->npod)
		return NULL;
	return &p->pod[i].members;
}

bool
dq_pods_hours(const struct dq_pods *p, const struct dq_member *m,
    struct dq_hours *out, const char **zone)
{
	const struct pod_member *hours = NULL, *tz = NULL;
	bool known = m->tz_known;

	*out = m->hours;
	*zone = m->tz;
	for (size_t i = 0; p && i < p->nmember; i++) {
		const struct pod_member *pm = &p->member[i];

		if (!pm->id || strcmp(pm->id, m->id))
			continue;
		if (pm->has_hours && !hours)
			hours = pm;
		if (pm->tz && !tz)
			tz = pm;
	}
	if (hours) {	/* the pod's week; the member's own holidays stay */
		out->always = false;
		memcpy(out->nstretch, hours->hours.nstretch, sizeof out->nstretch);
		memcpy(out->stretch, hours->hours.stretch, sizeof out->stretch);
	}
	if (tz) {
		*zone = tz->tz;
		known = true;
	}
	return known;
}
