/* rules.c: the SOP rules of dq-rules(5).
 *
 * A rules file is read whole and parsed once, before any record, by a
 * recursive-descent parser over a small lexer, so that any mistake is
 * reported with the line and column of the word at fault and stops the
 * program before it decides anything. Conditions become trees that
 * dq-pick evaluates against each ticket; the first rule that holds wins. */
#include <config.h>

#include <ctype.h>
#include <regex.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dq.h"

/* Parentheses and "not" nest at most this deep, so that no file can
 * exhaust the stack of the parser or of the evaluation. */
#define MAX_DEPTH 64

enum field {
	F_BOARD, F_COMPANY, F_PRIORITY, F_STATUS, F_TYPE, F_SUBTYPE, F_ITEM,
	F_TEAM, F_SUMMARY, F_LABELS, F_HOUR, F_WEEKDAY, NFIELDS
};

static const char *const field_names[NFIELDS] = {
	"board", "company", "priority", "status", "type", "subtype", "item",
	"team", "summary", "labels", "hour", "weekday"
};

static const char *const day_names[7] = {
	"mon", "tue", "wed", "thu", "fri", "sat", "sun"
};

enum op {
	OP_EQ, OP_NE, OP_IN, OP_NOT_IN, OP_MATCH, OP_IMATCH,
	OP_HAS, OP_LT, OP_LE, OP_GT, OP_GE
};

/* "and" and "or" hold any number of operands, so that a long chain of
 * them stays one level deep. */
struct dq_cond {
	enum { C_AND, C_OR, C_NOT, C_TEST } type;
	struct dq_cond **kids;
	size_t nkids;
	enum field field;	/* the rest: C_TEST */
	enum op op;
	struct dq_word *vals;
	size_t nvals;
	int *nums;		/* hour, or weekday (0 = mon), of each value */
	regex_t re;
	bool has_re;
};

enum tok {
	T_EOF, T_WORD, T_STRING, T_COLON, T_LPAREN, T_RPAREN, T_COMMA,
	T_ARROW, T_EQ, T_NE, T_MATCH, T_IMATCH, T_LT, T_LE, T_GT, T_GE, T_BAD
};

struct parser {
	const char *p, *end;	/* the text still to read */
	unsigned line, col;	/* where p stands */
	enum tok tok;		/* the current token */
	char *text;		/* its text, unquoted */
	size_t textlen, textcap;
	unsigned tline, tcol;	/* where it starts */
	unsigned prev_line;	/* where the token before it starts */
	int depth;
	const char *name;
	char *err;
	size_t errlen;
	bool failed;
};

static bool error_at(struct parser *ps, unsigned line, unsigned col,
	const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Records the first error, with its place; returns false. */
static bool
error_at(struct parser *ps, unsigned line, unsigned col, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (ps->failed)
		return false;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	dq_printable(msg);
	snprintf(ps->err, ps->errlen, "%s:%u:%u: %s", ps->name, line, col, msg);
	ps->failed = true;
	ps->tok = T_BAD;
	return false;
}

/* The lexer */

static void
step(struct parser *ps)
{
	if (*ps->p == '\n') {
		ps->line++;
		ps->col = 1;
	} else {
		ps->col++;
	}
	ps->p++;
}

static void
keep(struct parser *ps, char c)
{
	if (ps->textlen + 1 >= ps->textcap) {
		ps->textcap = ps->textcap ? 2 * ps->textcap : 64;
		ps->text = xrealloc(ps->text, ps->textcap);
	}
	ps->text[ps->textlen++] = c;
	ps->text[ps->textlen] = '\0';
}

/* Empties the token's text, allocating it the first time. */
static void
clear_text(struct parser *ps)
{
	if (!ps->text) {
		ps->textcap = 64;
		ps->text = xmalloc(ps->textcap);
	}
	ps->textlen = 0;
	ps->text[0] = '\0';
}

static bool
word_char(unsigned char c)
{
	return c != '\0' && (isalnum(c) || c >= 0x80 || strchr("_-.@/+&'", c));
}

static void
skip_blanks(struct parser *ps)
{
	while (ps->p < ps->end) {
		if (*ps->p == '#') {
			while (ps->p < ps->end && *ps->p != '\n')
				step(ps);
		} else if (isspace((unsigned char)*ps->p)) {
			step(ps);
		} else {
			break;
		}
	}
}

/* Inside quotes, \" is a quote and \\ a backslash; any other backslash
 * stays, so that regular expressions need no doubling. */
static void
lex_string(struct parser *ps)
{
	step(ps);
	while (ps->p < ps->end && *ps->p != '"') {
		unsigned char c = (unsigned char)*ps->p;

		if (c < 0x20 && c != '\t') {
			error_at(ps, ps->tline, ps->tcol, c == '\n' ?
			    "unterminated string" : "control character in a string");
			return;
		}
		if (c == '\\' && ps->p + 1 < ps->end &&
		    (ps->p[1] == '"' || ps->p[1] == '\\'))
			step(ps);
		keep(ps, *ps->p);
		step(ps);
	}
	if (ps->p == ps->end) {
		error_at(ps, ps->tline, ps->tcol, "unterminated string");
		return;
	}
	step(ps);
	ps->tok = T_STRING;
}

/* The operator at p, longest first, or T_BAD. */
static enum tok
lex_punct(struct parser *ps)
{
	static const struct { const char *s; enum tok tok; } ops[] = {
		{ "=>", T_ARROW }, { "!=", T_NE }, { "~*", T_IMATCH },
		{ "<=", T_LE }, { ">=", T_GE }, { "=", T_EQ }, { "~", T_MATCH },
		{ "<", T_LT }, { ">", T_GT }, { ":", T_COLON }, { "(", T_LPAREN },
		{ ")", T_RPAREN }, { ",", T_COMMA },
	};

	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
		size_t n = strlen(ops[i].s);

		if ((size_t)(ps->end - ps->p) >= n && !memcmp(ps->p, ops[i].s, n)) {
			for (size_t k = 0; k < n; k++) {
				keep(ps, *ps->p);
				step(ps);
			}
			return ops[i].tok;
		}
	}
	return T_BAD;
}

static void
next(struct parser *ps)
{
	if (ps->failed)
		return;
	ps->prev_line = ps->tline;
	skip_blanks(ps);
	ps->tline = ps->line;
	ps->tcol = ps->col;
	clear_text(ps);
	if (ps->p == ps->end) {
		ps->tok = T_EOF;
	} else if (*ps->p == '"') {
		lex_string(ps);
	} else if (word_char((unsigned char)*ps->p)) {
		while (ps->p < ps->end && word_char((unsigned char)*ps->p)) {
			keep(ps, *ps->p);
			step(ps);
		}
		ps->tok = T_WORD;
	} else if ((ps->tok = lex_punct(ps)) == T_BAD) {
		unsigned char c = (unsigned char)*ps->p;

		if (isprint(c))
			error_at(ps, ps->line, ps->col, "unexpected \"%c\"", c);
		else
			error_at(ps, ps->line, ps->col, "unexpected byte 0x%02x", c);
	}
}

static bool
is_word(const struct parser *ps, const char *w)
{
	return ps->tok == T_WORD && !strcmp(ps->text, w);
}

static bool
expect(struct parser *ps, enum tok tok, const char *what)
{
	if (ps->tok != tok)
		return error_at(ps, ps->tline, ps->tcol, "expected %s", what);
	next(ps);
	return true;
}

/* A value, a bare word or a quoted string, into out. */
static bool
take_value(struct parser *ps, struct dq_word *out)
{
	if (ps->tok != T_WORD && ps->tok != T_STRING)
		return error_at(ps, ps->tline, ps->tcol, "expected a value");
	*out = (struct dq_word){ xstrdup(ps->text), ps->tline, ps->tcol };
	next(ps);
	return true;
}

static void
add_value(struct dq_word **v, size_t *n, struct dq_word w)
{
	*v = xrealloc(*v, (*n + 1) * sizeof **v);
	(*v)[(*n)++] = w;
}

/* "value" or "value, value, …" */
static bool
take_values(struct parser *ps, struct dq_word **v, size_t *n)
{
	struct dq_word w;

	do {
		if (!take_value(ps, &w))
			return false;
		add_value(v, n, w);
	} while (ps->tok == T_COMMA && (next(ps), true));
	return true;
}

/* Conditions */

static void
free_cond(struct dq_cond *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nkids; i++)
		free_cond(c->kids[i]);
	for (size_t i = 0; i < c->nvals; i++)
		free(c->vals[i].s);
	if (c->has_re)
		regfree(&c->re);
	free(c->kids);
	free(c->vals);
	free(c->nums);
	free(c);
}

static struct dq_cond *
new_cond(int type)
{
	struct dq_cond *c = xcalloc(1, sizeof *c);

	c->type = type;
	return c;
}

static void
add_kid(struct dq_cond *c, struct dq_cond *kid)
{
	c->kids = xrealloc(c->kids, (c->nkids + 1) * sizeof *c->kids);
	c->kids[c->nkids++] = kid;
}

static bool
op_applies(enum field f, enum op op)
{
	switch (f) {
	case F_LABELS:
		return op == OP_HAS;
	case F_HOUR:
		return op != OP_MATCH && op != OP_IMATCH && op != OP_HAS;
	case F_WEEKDAY:
		return op == OP_EQ || op == OP_NE || op == OP_IN || op == OP_NOT_IN;
	default:
		return op <= OP_IMATCH;
	}
}

/* The operator after a field. */
static bool
parse_op(struct parser *ps, struct dq_cond *c)
{
	static const enum tok toks[] = {
		T_EQ, T_NE, T_BAD, T_BAD, T_MATCH, T_IMATCH, T_BAD,
		T_LT, T_LE, T_GT, T_GE
	};
	unsigned line = ps->tline, col = ps->tcol;
	char text[16];
	size_t i;

	for (i = 0; i < sizeof toks / sizeof toks[0]; i++)
		if (toks[i] != T_BAD && ps->tok == toks[i])
			break;
	if (i < sizeof toks / sizeof toks[0])
		c->op = (enum op)i;
	else if (is_word(ps, "in"))
		c->op = OP_IN;
	else if (is_word(ps, "has"))
		c->op = OP_HAS;
	else if (is_word(ps, "not")) {
		next(ps);
		if (!is_word(ps, "in"))
			return error_at(ps, ps->tline, ps->tcol,
			    "expected \"in\" after \"not\"");
		c->op = OP_NOT_IN;
	} else {
		return error_at(ps, line, col, "expected an operator after \"%s\"",
		    field_names[c->field]);
	}
	snprintf(text, sizeof text, "%s", c->op == OP_NOT_IN ? "not in" : ps->text);
	if (!op_applies(c->field, c->op))
		return error_at(ps, line, col, "\"%s\" does not apply to %s%s",
		    dq_excerpt(text), field_names[c->field], c->field == F_LABELS ?
		    " (use \"has\")" : "");
	next(ps);
	return true;
}

static bool
parse_hour(struct parser *ps, const struct dq_word *w, int *out)
{
	char *end;
	long h = strtol(w->s, &end, 10);

	if (!isdigit((unsigned char)*w->s) || *end || h > 23)
		return error_at(ps, w->line, w->col, "expected an hour from 0 to "
		    "23, not \"%s\"", dq_excerpt(w->s));
	*out = (int)h;
	return true;
}

static bool
parse_weekday(struct parser *ps, const struct dq_word *w, int *out)
{
	for (int d = 0; d < 7; d++) {
		if (!strcasecmp(w->s, day_names[d])) {
			*out = d;
			return true;
		}
	}
	return error_at(ps, w->line, w->col, "expected a weekday (mon, tue, "
	    "wed, thu, fri, sat or sun), not \"%s\"", dq_excerpt(w->s));
}

/* glibc's regcomp copies a repeated part once per repetition, reads
 * groups recursively, and takes time and memory quadratic in the copies of
 * an optional part, so a short pattern like "a++++++++++++++++++++" or
 * "a{0,20000}" would take gigabytes. These bound what a rules file may ask
 * of it; 255 is the largest count POSIX promises (_POSIX2_RE_DUP_MAX). */
#define RE_MAX_NODES 2000
#define RE_MAX_DEPTH 32
#define RE_MAX_COUNT 255

/* The "]" that ends the bracket expression at p, or the last byte. */
static const char *
bracket_end(const char *p)
{
	p++;
	if (*p == '^')
		p++;
	if (*p == ']')
		p++;
	while (*p && *p != ']') {
		if (*p == '[' && (p[1] == ':' || p[1] == '=' || p[1] == '.')) {
			const char *q = strchr(p + 2, p[1]);

			while (q && q[1] != ']')
				q = strchr(q + 1, p[1]);
			p = q ? q + 2 : p + strlen(p);
		} else {
			p++;
		}
	}
	return *p ? p : p - 1;
}

/* The count of an interval "{m}", "{m,}" or "{m,n}" at p, or -1. */
static long
interval(const char **p)
{
	char *end;
	long m, n;

	if (!isdigit((unsigned char)(*p)[1]))
		return -1;
	m = n = strtol(*p + 1, &end, 10);
	if (*end == ',') {
		end++;
		n = isdigit((unsigned char)*end) ? strtol(end, &end, 10) : m;
	}
	if (*end != '}')
		return -1;
	*p = end;
	/* Past RE_MAX_COUNT every count is too large alike. */
	n = n > m ? n : m;
	return n > RE_MAX_COUNT ? RE_MAX_COUNT + 1 : n;
}

/* Why regcomp should not be given re, or NULL. An estimate of the copies
 * it would make; and a repetition right after another, which POSIX
 * leaves undefined, is refused outright. */
static const char *
regex_cost(const char *re)
{
	unsigned long size[RE_MAX_DEPTH + 1] = { 0 }, last = 0, times;
	int depth = 0;
	bool repeated = false;

	for (const char *p = re; *p; p++) {
		long n = 0;

		times = 0;
		if (*p == '*' || *p == '+' || *p == '?' ||
		    (*p == '{' && (n = interval(&p)) >= 0)) {
			if (repeated)
				return "a repetition may not follow another";
			if (n > RE_MAX_COUNT)
				return "a count above 255";
			times = *p == '}' ? (unsigned long)n : 1;
			repeated = true;
		} else if (*p == '(') {
			if (depth == RE_MAX_DEPTH)
				return "groups nest too deeply";
			size[++depth] = 0;
			repeated = false;
			continue;
		} else if (*p == '|') {
			repeated = false;
			continue;
		} else {
			if (*p == ')' && depth > 0) {
				last = size[depth--] + 1;
			} else {
				if (*p == '[')
					p = bracket_end(p);
				else if (*p == '\\' && p[1])
					p++;
				last = 1;
			}
			size[depth] += last;
			repeated = false;
		}
		if (times && last > RE_MAX_NODES / times)
			return "too large";
		size[depth] += last * times;
		if (size[depth] > RE_MAX_NODES)
			return "too large";
	}
	return NULL;
}

/* Turns the values into what evaluation compares: numbers for hour and
 * weekday, a compiled expression for ~ and ~*. */
static bool
prepare_values(struct parser *ps, struct dq_cond *c)
{
	if (c->field == F_HOUR || c->field == F_WEEKDAY) {
		c->nums = xcalloc(c->nvals, sizeof *c->nums);
		for (size_t i = 0; i < c->nvals; i++)
			if (!(c->field == F_HOUR ?
			    parse_hour(ps, &c->vals[i], &c->nums[i]) :
			    parse_weekday(ps, &c->vals[i], &c->nums[i])))
				return false;
	}
	if (c->op == OP_MATCH || c->op == OP_IMATCH) {
		int flags = REG_EXTENDED | REG_NOSUB |
		    (c->op == OP_IMATCH ? REG_ICASE : 0);
		const char *why = regex_cost(c->vals[0].s);
		char msg[256];
		int rc;

		if (why)
			return error_at(ps, c->vals[0].line, c->vals[0].col,
			    "bad regular expression \"%s\": %s", dq_excerpt(c->vals[0].s),
			    why);
		if ((rc = regcomp(&c->re, c->vals[0].s, flags)) != 0) {
			regerror(rc, &c->re, msg, sizeof msg);
			return error_at(ps, c->vals[0].line, c->vals[0].col,
			    "bad regular expression \"%s\": %s", dq_excerpt(c->vals[0].s),
			    msg);
		}
		c->has_re = true;
	}
	return true;
}

/* field op value, or field [not] in (value, …) */
static struct dq_cond *
parse_test(struct parser *ps)
{
	struct dq_cond *c;
	int f;

	for (f = 0; f < NFIELDS && !is_word(ps, field_names[f]); f++)
		;
	if (f == NFIELDS) {
		if (ps->tok == T_WORD)
			error_at(ps, ps->tline, ps->tcol, "unknown field \"%s\"%s",
			    dq_excerpt(ps->text), dq_did_you_mean(ps->text, field_names,
			    NFIELDS, true));
		else
			error_at(ps, ps->tline, ps->tcol, "expected a condition");
		return NULL;
	}
	c = new_cond(C_TEST);
	c->field = (enum field)f;
	next(ps);
	if (parse_op(ps, c)) {
		if (c->op != OP_IN && c->op != OP_NOT_IN) {
			struct dq_word w;

			if (take_value(ps, &w))
				add_value(&c->vals, &c->nvals, w);
		} else if (expect(ps, T_LPAREN, "\"(\"") &&
		    take_values(ps, &c->vals, &c->nvals)) {
			expect(ps, T_RPAREN, "\")\"");
		}
	}
	if (ps->failed || !prepare_values(ps, c)) {
		free_cond(c);
		return NULL;
	}
	return c;
}

static struct dq_cond *parse_or(struct parser *ps);

/* not X, (X), or a test: "not" binds tighter than "and". */
static struct dq_cond *
parse_unary(struct parser *ps)
{
	struct dq_cond *c = NULL, *kid;

	if (++ps->depth > MAX_DEPTH) {
		error_at(ps, ps->tline, ps->tcol, "conditions nest more than %d "
		    "deep", MAX_DEPTH);
		return NULL;
	}
	if (is_word(ps, "not")) {
		next(ps);
		if ((kid = parse_unary(ps))) {
			c = new_cond(C_NOT);
			add_kid(c, kid);
		}
	} else if (ps->tok == T_LPAREN) {
		next(ps);
		c = parse_or(ps);
		if (c && !expect(ps, T_RPAREN, "\")\"")) {
			free_cond(c);
			c = NULL;
		}
	} else {
		c = parse_test(ps);
	}
	ps->depth--;
	return c;
}

/* sub (word sub)*, one node however long the chain. */
static struct dq_cond *
parse_chain(struct parser *ps, const char *word, int type,
    struct dq_cond *(*sub)(struct parser *))
{
	struct dq_cond *first = sub(ps), *c, *kid;

	if (!first || !is_word(ps, word))
		return first;
	c = new_cond(type);
	add_kid(c, first);
	while (is_word(ps, word)) {
		next(ps);
		if (!(kid = sub(ps))) {
			free_cond(c);
			return NULL;
		}
		add_kid(c, kid);
	}
	return c;
}

static struct dq_cond *
parse_and(struct parser *ps)
{
	return parse_chain(ps, "and", C_AND, parse_unary);
}

static struct dq_cond *
parse_or(struct parser *ps)
{
	return parse_chain(ps, "or", C_OR, parse_and);
}

/* Actions */

static bool
parse_prefer(struct parser *ps, struct dq_rule *r)
{
	if (is_word(ps, "pod"))
		r->action = DQ_PREFER_POD;
	else if (is_word(ps, "capability"))
		r->action = DQ_PREFER_CAPABILITY;
	else
		return error_at(ps, ps->tline, ps->tcol,
		    "expected \"pod:\" or \"capability:\"");
	next(ps);
	return expect(ps, T_COLON, "\":\"") &&
	    take_values(ps, &r->args, &r->nargs) &&
	    (r->nargs == 1 || error_at(ps, r->args[1].line, r->args[1].col,
	    "prefer takes one pod or capability"));
}

static bool
parse_action(struct parser *ps, struct dq_rule *r)
{
	static const char *const names[] = {
		"assign", "team", "hold", "exclude", "prefer", "mode"
	};
	static const enum dq_action actions[] = {
		DQ_ASSIGN, DQ_TEAM, DQ_HOLD, DQ_EXCLUDE, DQ_PREFER_POD, DQ_SET_MODE
	};
	const size_t nnames = sizeof names / sizeof names[0];
	struct dq_word w;
	size_t i;

	for (i = 0; i < nnames && !is_word(ps, names[i]); i++)
		;
	if (i == nnames && ps->tok == T_WORD && dq_nearest(ps->text, names, nnames))
		return error_at(ps, ps->tline, ps->tcol, "unknown action "
		    "\"%s\"%s", dq_excerpt(ps->text), dq_did_you_mean(ps->text, names,
		    nnames, false));
	if (i == nnames)
		return error_at(ps, ps->tline, ps->tcol, "expected an action "
		    "(assign, team, hold, exclude, prefer or mode)");
	r->action = actions[i];
	next(ps);
	if (r->action == DQ_PREFER_POD)
		return parse_prefer(ps, r);
	if (r->action == DQ_EXCLUDE)
		return take_values(ps, &r->args, &r->nargs);
	if (!take_value(ps, &w))
		return false;
	add_value(&r->args, &r->nargs, w);
	if (r->action == DQ_SET_MODE && !dq_mode_parse(w.s, &r->mode))
		return error_at(ps, w.line, w.col, "unknown mode \"%s\"%s",
		    dq_excerpt(w.s),
		    dq_mode_hint(w.s));
	return true;
}

/* id: condition => action, ending its line. */
static bool
parse_rule(struct parser *ps, struct dq_rules *rs)
{
	struct dq_rule *r;

	if (ps->tok != T_WORD)
		return error_at(ps, ps->tline, ps->tcol, "expected a rule id");
	for (size_t i = 0; i < rs->n; i++)
		if (!strcmp(rs->v[i].id, ps->text))
			return error_at(ps, ps->tline, ps->tcol, "rule \"%s\" is "
			    "already defined on line %u", dq_excerpt(ps->text),
			    rs->v[i].line);
	rs->v = xrealloc(rs->v, (rs->n + 1) * sizeof *rs->v);
	r = &rs->v[rs->n++];
	*r = (struct dq_rule){ .id = xstrdup(ps->text), .line = ps->tline };
	next(ps);
	if (!expect(ps, T_COLON, "\":\" after the rule id"))
		return false;
	if (!(r->cond = parse_or(ps)) || !expect(ps, T_ARROW, "\"=>\"") ||
	    !parse_action(ps, r))
		return false;
	if (ps->tok != T_EOF && ps->tline == ps->prev_line)
		return error_at(ps, ps->tline, ps->tcol,
		    "expected the end of the line after the action");
	return true;
}

struct dq_rules *
dq_rules_parse(const char *buf, size_t len, const char *name, char *err,
    size_t errlen)
{
	struct dq_rules *rs = xcalloc(1, sizeof *rs);
	struct parser ps = { .p = buf, .end = buf + len, .line = 1, .col = 1,
	    .name = name, .err = err, .errlen = errlen };

	rs->name = xstrdup(name);
	rs->text = xmalloc(len + 1);
	memcpy(rs->text, buf, len);
	rs->text[len] = '\0';
	rs->len = len;
	next(&ps);
	while (!ps.failed && ps.tok != T_EOF)
		parse_rule(&ps, rs);
	free(ps.text);
	if (ps.failed) {
		dq_rules_free(rs);
		return NULL;
	}
	return rs;
}

struct dq_rules *
dq_rules_load(const char *path)
{
	size_t len;
	char *buf = dq_slurp(path, &len), err[1024];
	struct dq_rules *rs = dq_rules_parse(buf, len, path, err, sizeof err);

	free(buf);
	if (!rs)
		dq_die(DQ_EXIT_CONFIG, "%s", err);
	return rs;
}

void
dq_rules_free(struct dq_rules *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < rs->n; i++) {
		struct dq_rule *r = &rs->v[i];

		free(r->id);
		free_cond(r->cond);
		for (size_t j = 0; j < r->nargs; j++)
			free(r->args[j].s);
		free(r->args);
	}
	free(rs->v);
	free(rs->name);
	free(rs->text);
	free(rs);
}

/* Evaluation */

struct eval {
	struct dq_context *ctx;
	json_object *ticket;
	const char *zone;
	bool clock_read, clock_known;	/* entered_at, read when first needed */
	int hour, wday;
};

static bool
read_clock(struct eval *e)
{
	const char *at = dq_get_str(e->ticket, "entered_at");
	struct tm tm;
	time_t t = 0;

	if (e->clock_read)
		return e->clock_known;
	e->clock_read = true;
	if (dq_get(e->ticket, "entered_at") && (!at || !dq_time_parse(at, &t)))
		dq_die_data("ticket %s: \"entered_at\" is not an RFC 3339 time",
		    dq_get_str(e->ticket, "id"));
	if (!at)
		return false;
	dq_zone_local(e->zone, t, &tm);
	e->hour = tm.tm_hour;
	e->wday = (tm.tm_wday + 6) % 7;
	e->clock_known = true;
	return true;
}

static bool
test_number(const struct dq_cond *c, int v)
{
	bool any = false;

	switch (c->op) {
	case OP_EQ:
		return v == c->nums[0];
	case OP_NE:
		return v != c->nums[0];
	case OP_LT:
		return v < c->nums[0];
	case OP_LE:
		return v <= c->nums[0];
	case OP_GT:
		return v > c->nums[0];
	case OP_GE:
		return v >= c->nums[0];
	default:
		for (size_t i = 0; i < c->nvals; i++)
			any = any || v == c->nums[i];
		return c->op == OP_IN ? any : !any;
	}
}

static bool
value_matches(const struct dq_cond *c, const char *v)
{
	if (c->op == OP_MATCH || c->op == OP_IMATCH)
		return regexec(&c->re, v, 0, NULL, 0) == 0;
	for (size_t i = 0; i < c->nvals; i++)
		if (!strcmp(v, c->vals[i].s))
			return true;
	return false;
}

/* A missing field reads as "". A team is known by its id and its name. */
static bool
test_string(const struct dq_cond *c, struct eval *e)
{
	const char *v = dq_get_str(e->ticket, field_names[c->field]);
	struct dq_team *t = c->field == F_TEAM && v ?
	    dq_team_get(e->ctx, v) : NULL;
	bool any = value_matches(c, v ? v : "") ||
	    (t && t->name && value_matches(c, t->name));

	return c->op == OP_NE || c->op == OP_NOT_IN ? !any : any;
}

static bool
test_labels(const struct dq_cond *c, struct eval *e)
{
	json_object *labels = dq_get(e->ticket, "labels");

	if (labels && !json_object_is_type(labels, json_type_array))
		dq_die_data("ticket %s: \"labels\" must be a list of strings",
		    dq_get_str(e->ticket, "id"));
	for (size_t i = 0; labels && i < json_object_array_length(labels); i++) {
		json_object *l = json_object_array_get_idx(labels, i);

		if (!json_object_is_type(l, json_type_string))
			dq_die_data("ticket %s: \"labels\" must be a list of "
			    "strings", dq_get_str(e->ticket, "id"));
		if (!strcasecmp(json_object_get_string(l), c->vals[0].s))
			return true;
	}
	return false;
}

static bool
holds(const struct dq_cond *c, struct eval *e)
{
	switch (c->type) {
	case C_AND:
		for (size_t i = 0; i < c->nkids; i++)
			if (!holds(c->kids[i], e))
				return false;
		return true;
	case C_OR:
		for (size_t i = 0; i < c->nkids; i++)
			if (holds(c->kids[i], e))
				return true;
		return false;
	case C_NOT:
		return !holds(c->kids[0], e);
	case C_TEST:
		break;
	}
	switch (c->field) {
	case F_LABELS:
		return test_labels(c, e);
	case F_HOUR:	/* no entered_at: no hour test holds */
		return read_clock(e) && test_number(c, e->hour);
	case F_WEEKDAY:
		return read_clock(e) && test_number(c, e->wday);
	default:
		return test_string(c, e);
	}
}

const struct dq_rule *
dq_rules_match(const struct dq_rules *rs, struct dq_context *ctx,
    json_object *ticket, const char *zone)
{
	struct eval e = { .ctx = ctx, .ticket = ticket, .zone = zone };

	for (size_t i = 0; rs && i < rs->n; i++)
		if (holds(rs->v[i].cond, &e))
			return &rs->v[i];
	return NULL;
}

/* Rules that name what does not exist */

static void
warn_word(const struct dq_rules *rs, const struct dq_word *w,
    const char *what, const char *where)
{
	if (!dq_policy.quiet)
		dq_warnx("%s:%u:%u: no %s \"%s\"%s", rs->name, w->line, w->col,
		    what, w->s, where);
}

void
dq_rules_check_pods(const struct dq_rules *rs, const struct dq_pods *p)
{
	for (size_t i = 0; i < rs->n; i++)
		if (rs->v[i].action == DQ_PREFER_POD &&
		    !dq_pods_exists(p, rs->v[i].args[0].s))
			warn_word(rs, &rs->v[i].args[0], "pod", p ?
			    " in the pods file" : " (no --pods file)");
}

/* Company names compared with =, !=, in or not in. */
static void
check_companies(const struct dq_rules *rs, const struct dq_cond *c,
    struct dq_context *ctx)
{
	for (size_t i = 0; i < c->nkids; i++)
		check_companies(rs, c->kids[i], ctx);
	if (c->type != C_TEST || c->field != F_COMPANY || c->has_re)
		return;
	for (size_t i = 0; i < c->nvals; i++)
		if (!dq_company_named(ctx, c->vals[i].s))
			warn_word(rs, &c->vals[i], "company named", "");
}

void
dq_rules_check_context(const struct dq_rules *rs, struct dq_context *ctx)
{
	for (size_t i = 0; i < rs->n; i++) {
		const struct dq_rule *r = &rs->v[i];

		for (size_t j = 0; j < r->nargs; j++) {
			if ((r->action == DQ_ASSIGN || r->action == DQ_EXCLUDE) &&
			    !dq_member_get(ctx, r->args[j].s))
				warn_word(rs, &r->args[j], "member with id", "");
			if (r->action == DQ_TEAM && !dq_team_find(ctx, r->args[j].s))
				warn_word(rs, &r->args[j], "team", "");
		}
		if (dq_companies_known(ctx))
			check_companies(rs, r->cond, ctx);
	}
}

const char *
dq_config_digest(unsigned prog, const struct dq_rules *rs,
    const struct dq_pods *p)
{
	size_t plen = 0, n = 0;
	const char *ptext = p ? dq_pods_text(p, &plen) : NULL;
	const char *digest;
	char *buf;

	if (!rs && !p)
		return dq_policy_digest(prog, NULL, 0);
	/* Each file's bytes behind its kind and length, so that no two
	 * different pairs of files hash alike. */
	buf = xmalloc((rs ? rs->len : 0) + plen + 64);
	if (rs) {
		n += (size_t)sprintf(buf + n, "rules %zu\n", rs->len);
		memcpy(buf + n, rs->text, rs->len);
		n += rs->len;
	}
	if (p) {
		n += (size_t)sprintf(buf + n, "pods %zu\n", plen);
		memcpy(buf + n, ptext, plen);
		n += plen;
	}
	digest = dq_policy_digest(prog, buf, n);
	free(buf);
	return digest;
}
