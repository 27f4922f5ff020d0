/* fuzz.h: what the fuzzers share. */

/* A context of the records given as JSON text, warnings muted: the
 * fuzzers check for crashes, not for messages. */
static struct dq_context *
fuzz_context(const char *const *records, size_t n)
{
	struct dq_context *c = dq_context_new();

	dq_policy.quiet = true;
	for (size_t i = 0; i < n; i++) {
		json_object *rec = json_tokener_parse(records[i]);

		dq_context_add(c, dq_get_str(rec, "kind"), rec);
		json_object_put(rec);
	}
	return c;
}
