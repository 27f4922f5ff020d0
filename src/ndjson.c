/* ndjson.c: the record stream. One JSON object per line in, one compact
 * line per record out, never a partial line. */
#include <config.h>

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "dq.h"

#define DQ_JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

static const char *where_name;
static size_t where_line;
/* File scope, so that what a fatal error leaves behind is still reachable
 * rather than a leak for the sanitizers to report. */
static json_tokener *tok;
static char *line;
static size_t line_cap;

const char *
dq_where(void)
{
	static char buf[512];

	if (where_name)
		snprintf(buf, sizeof buf, "%s: line %zu", where_name, where_line);
	else
		snprintf(buf, sizeof buf, "line %zu", where_line);
	return buf;
}

void
dq_warn_again(const char *ticket, size_t earlier)
{
	if (!dq_policy.quiet)
		dq_warnx("%s: ticket %s again: this record replaces the one of "
		    "line %zu", dq_where(), ticket, earlier);
}

void
dq_die_data(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	dq_die(DQ_EXIT_DATA, "%s: %s", dq_where(), msg);
}

/* A line can be copied through untouched when json-c would write the same
 * bytes: no white space between tokens and no escaped slash. */
static bool
is_compact(const char *s, size_t len)
{
	bool in_string = false;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (in_string) {
			if (c == '\\') {
				if (i + 1 < len && s[i + 1] == '/')
					return false;
				i++;
			} else if (c == '"') {
				in_string = false;
			}
		} else if (c == '"') {
			in_string = true;
		} else if (c == ' ' || c == '\t' || c == '\r') {
			return false;
		}
	}
	return true;
}

/* Whether a string of the line holds the escape \u0000: json-c would
 * keep the NUL, and C would read the string only up to it ("adoe\u0000x"
 * would be taken for adoe). */
static bool
has_nul_escape(const char *s, size_t len)
{
	bool in_string = false;

	for (size_t i = 0; i < len; i++) {
		if (!in_string) {
			in_string = s[i] == '"';
		} else if (s[i] == '"') {
			in_string = false;
		} else if (s[i] == '\\') {
			if (i + 5 < len && s[i + 1] == 'u' &&
			    !memcmp(s + i + 2, "0000", 4))
				return true;
			i++;
		}
	}
	return false;
}

static bool
is_blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	return true;
}

static json_object *
parse_line(size_t len)
{
	json_object *rec;
	size_t end;

	json_tokener_reset(tok);
	/* The terminating NUL is passed too, so a bare number ends. */
	rec = json_tokener_parse_ex(tok, line, (int)len + 1);
	if (!rec) {
		enum json_tokener_error e = json_tokener_get_error(tok);

		if (e == json_tokener_continue || e == json_tokener_success ||
		    e == json_tokener_error_parse_eof)
			dq_die_data("invalid JSON: unexpected end of line");
		if (e == json_tokener_error_parse_utf8_string)
			dq_die_data("invalid UTF-8");
		dq_die_data("invalid JSON: %s", json_tokener_error_desc(e));
	}
	end = json_tokener_get_parse_end(tok);
	while (end < len && (line[end] == ' ' || line[end] == '\t'))
		end++;
	if (end < len) {
		json_object_put(rec);
		dq_die_data("trailing data after the JSON object at column %zu",
		    end + 1);
	}
	if (!json_object_is_type(rec, json_type_object)) {
		json_object_put(rec);
		dq_die_data("not a JSON object");
	}
	if (has_nul_escape(line, len)) {
		json_object_put(rec);
		dq_die_data("a string holds \\u0000 (NUL)");
	}
	return rec;
}

/* The times each kind of record may carry, which the stages read:
 * DESIGN §2. "slot." is a member of the ticket's slot. */
static const struct {
	const char *kind, *fields[4];
} times[] = {
	{ "ticket", { "entered_at", "updated_at", "slot.start", "slot.end" } },
	{ "member", { "last_dispatched_at", "last_seen_at", "created_at" } },
	{ "entry", { "start", "end" } },
	{ "history", { "entered_at", "closed_at" } },
	{ "event", { "at" } },
};

/* Every stage stops at a time it cannot read, as dq-fetch does, rather
 * than taking it for an absent one. */
static void
check_times(json_object *rec, const char *kind)
{
	for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
		if (strcmp(kind, times[i].kind) != 0)
			continue;
		for (int f = 0; f < 4 && times[i].fields[f]; f++) {
			const char *name = times[i].fields[f];
			const char *id = dq_get_str(rec, "id");
			json_object *in = rec, *v;
			time_t t;

			if (!strncmp(name, "slot.", 5)) {
				in = dq_get(rec, "slot");
				name += 5;
			}

			v = dq_get(in, name);
			if (v && !dq_time_parse(dq_get_str(in, name), &t))
				dq_die_data("%s%s%s: \"%s\" is not an RFC 3339 "
				    "time", kind, id ? " " : "", id ? id : "",
				    times[i].fields[f]);
		}
	}
}

void
dq_stream(FILE *fp, const char *name, dq_record_fn fn, void *arg)
{
	struct dq_input in;
	ssize_t n;

	if (!tok) {
		tok = json_tokener_new();
		json_tokener_set_flags(tok, JSON_TOKENER_VALIDATE_UTF8);
	}
	where_name = name;
	where_line = 0;
	while ((n = dq_getline(&line, &line_cap, fp, DQ_MAX_LINE)) != -1) {
		size_t len = (size_t)n;
		json_object *kind;

		where_line++;
		if (n == DQ_LINE_TOO_LONG)
			dq_die_data("longer than %d MiB", DQ_MAX_LINE >> 20);
		if (line[len - 1] != '\n')
			dq_die_data("last line has no newline: truncated input?");
		line[--len] = '\0';
		if (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		if (is_blank(line, len))
			continue;
		if (strlen(line) != len)
			dq_die_data("NUL byte in line");
		in.rec = parse_line(len);
		if (!json_object_object_get_ex(in.rec, "kind", &kind))
			dq_die_data("record has no \"kind\"");
		if (!json_object_is_type(kind, json_type_string))
			dq_die_data("\"kind\" is not a string");
		in.kind = json_object_get_string(kind);
		check_times(in.rec, in.kind);
		in.line = line;
		in.len = len;
		in.lineno = where_line;
		in.compact = is_compact(line, len);
		fn(&in, arg);
		json_object_put(in.rec);
	}
	if (ferror(fp))
		dq_die(DQ_EXIT_IO, "%s: read error", name ? name : "<stdin>");
}

static void
write_line(const char *s, size_t len)
{
	fwrite(s, 1, len, stdout);
	putchar('\n');
}

void
dq_write(json_object *rec)
{
	size_t len;
	const char *s = json_object_to_json_string_length(rec, DQ_JSON_FLAGS, &len);

	write_line(s, len);
}

void
dq_write_input(const struct dq_input *in)
{
	if (in->compact)
		write_line(in->line, in->len);
	else
		dq_write(in->rec);
}

/* Writes the raw line of in with "key": json (len bytes) spliced in
 * before its closing brace. */
static void
splice(const struct dq_input *in, const char *key, const char *json,
    size_t len)
{
	fwrite(in->line, 1, in->len - 1, stdout);
	printf(",\"%s\":", key);
	fwrite(json, 1, len, stdout);
	fputs("}\n", stdout);
}

void
dq_write_annotated(struct dq_input *in, const char *key, json_object *value)
{
	bool had_key = json_object_object_get_ex(in->rec, key, NULL);
	size_t vlen;
	const char *v;

	json_object_object_add(in->rec, key, value);
	if (!in->compact || had_key) {
		dq_write(in->rec);
		return;
	}
	v = json_object_to_json_string_length(value, DQ_JSON_FLAGS, &vlen);
	splice(in, key, v, vlen);
}

void
dq_write_annotated_json(struct dq_input *in, const char *key,
    const char *json, size_t len)
{
	if (!in->compact || json_object_object_get_ex(in->rec, key, NULL)) {
		dq_write_annotated(in, key, json_tokener_parse(json));
		return;
	}
	splice(in, key, json, len);
}

const char *
dq_json_string(json_object *o)
{
	return json_object_to_json_string_ext(o, DQ_JSON_FLAGS);
}

json_object *
dq_get(json_object *rec, const char *key)
{
	json_object *v;

	if (!rec || !json_object_object_get_ex(rec, key, &v))
		return NULL;
	return v;	/* NULL for a JSON null too */
}

const char *
dq_need_str(json_object *rec, const char *kind, const char *field)
{
	const char *s = dq_get_str(rec, field);

	if (!s || !*s)
		dq_die_data("%s: \"%s\" must be a non-empty string", kind, field);
	return s;
}

const char *
dq_json_type_shape(enum json_type type)
{
	switch (type) {
	case json_type_boolean:	return "true or false";
	case json_type_double:	return "a fraction";
	case json_type_int:	return "a number";
	case json_type_object:	return "an object";
	case json_type_array:	return "a list";
	case json_type_string:	return "a string";
	default:		return "null";
	}
}

const char *
dq_json_shape(json_object *v)
{
	return dq_json_type_shape(json_object_get_type(v));
}

void
dq_exclude(json_object *excluded, const char *id, const char *why)
{
	size_t n = json_object_array_length(excluded);
	json_object *group;

	/* A pool has a handful of distinct reasons: a scan is enough. */
	for (size_t i = 0; i < n; i++) {
		group = json_object_array_get_idx(excluded, i);
		if (!strcmp(dq_get_str(group, "why"), why)) {
			json_object_array_add(dq_get(group, "ids"),
			    json_object_new_string(id));
			return;
		}
	}
	group = json_object_new_object();
	json_object_object_add(group, "why", json_object_new_string(why));
	json_object_object_add(group, "ids", json_object_new_array());
	json_object_array_add(dq_get(group, "ids"), json_object_new_string(id));
	json_object_array_add(excluded, group);
}

const char *
dq_get_str(json_object *rec, const char *key)
{
	json_object *v = dq_get(rec, key);

	return json_object_is_type(v, json_type_string) ?
	    json_object_get_string(v) : NULL;
}

bool
dq_get_bool(json_object *rec, const char *key, bool dflt)
{
	json_object *v = dq_get(rec, key);

	return json_object_is_type(v, json_type_boolean) ?
	    json_object_get_boolean(v) : dflt;
}

void
dq_stream_files(int argc, char **argv, dq_record_fn fn, void *arg)
{
	if (argc == 0) {
		dq_stream(stdin, NULL, fn, arg);
		return;
	}
	for (int i = 0; i < argc; i++) {
		FILE *fp;

		if (!strcmp(argv[i], "-")) {
			dq_stream(stdin, NULL, fn, arg);
			continue;
		}
		if (!(fp = fopen(argv[i], "r")))
			dq_die(DQ_EXIT_NOINPUT, "%s: %s", argv[i], strerror(errno));
		dq_stream(fp, argv[i], fn, arg);
		fclose(fp);
	}
}
