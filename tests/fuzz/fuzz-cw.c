/* fuzz-cw.c: libFuzzer entry point for dq-fetch --connectwise's handling
 * of replies. An input is a JSON object of recorded replies by API path
 * ("service/boards", "service/boards/1/teams", ...; the seeds come from
 * tests/fixtures/cw-data.json). The ConnectWise client is replaced by one
 * that answers each request from that object, in the order the requests
 * were queued, the way cw.c hands replies on: a list path that is absent
 * is an empty list, an absent resource a 404, a list answered by anything
 * but a list a reply of the wrong shape. */
#include <config.h>

#define main fetch_main
#include "../../src/dq-fetch.c"
#undef main
#include "../../src/fetch-cw.c"

#include "fuzz-main.h"
#include "fuzz-fetch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct request {
	char *path;
	bool list;
	dq_cw_fn fn;
	void *arg;
};

struct dq_cw {
	struct request *q;
	size_t head, n, cap;
};

static json_object *replies;

struct dq_cw *
dq_cw_open(void)
{
	return xcalloc(1, sizeof(struct dq_cw));
}

void
dq_cw_close(struct dq_cw *cw)
{
	for (size_t i = cw->head; i < cw->n; i++)
		free(cw->q[i].path);
	free(cw->q);
	free(cw);
}

static void
enqueue(struct dq_cw *cw, const char *path, bool list, dq_cw_fn fn, void *arg)
{
	if (cw->n == cw->cap)
		cw->q = xrealloc(cw->q, (cw->cap = cw->cap * 2 + 8) * sizeof *cw->q);
	cw->q[cw->n++] = (struct request){ xstrdup(path), list, fn, arg };
}

void
dq_cw_get(struct dq_cw *cw, const char *path, dq_cw_fn fn, void *arg)
{
	enqueue(cw, path, false, fn, arg);
}

void
dq_cw_list(struct dq_cw *cw, const char *path, const char *conditions,
    const char *fields, dq_cw_fn fn, void *arg)
{
	(void)conditions;
	(void)fields;
	enqueue(cw, path, true, fn, arg);
}

void
dq_cw_run(struct dq_cw *cw)
{
	while (cw->head < cw->n) {
		struct request r = cw->q[cw->head++];
		struct dq_cw_reply reply = { .status = 200, .exit = DQ_EXIT_OK };
		char *error = NULL;

		reply.body = json_object_get(dq_get(replies, r.path));
		if (r.list && !reply.body) {
			reply.body = json_object_new_array();
		} else if (!reply.body) {
			reply.status = 404;
			reply.exit = DQ_EXIT_UNAVAILABLE;
			reply.error = error = dq_asprintf("GET /%s: 404", r.path);
		} else if (r.list && !json_object_is_type(reply.body,
		    json_type_array)) {
			reply.exit = DQ_EXIT_DATA;
			reply.error = error = dq_asprintf("GET /%s: reply is not "
			    "a list", r.path);
		}
		r.fn(&reply, r.arg);
		json_object_put(reply.body);
		free(error);
		free(r.path);
	}
}

char *
dq_cw_quote(const char *s)
{
	return dq_asprintf("\"%s\"", s);
}

/* After a run that stopped: what it had read. Its client's queue stays,
 * as it may be closed already. */
static void
stopped(void)
{
	free_state();
	fetch_drop();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[] = { "dq-fetch", "-q", "--connectwise", "--now",
	    "2026-03-10T15:00:00Z", NULL };
	static const uint8_t nothing[] = "\n";
	json_tokener *tok = json_tokener_new();

	fuzz_stopped = stopped;
	replies = json_tokener_parse_ex(tok, (const char *)data, (int)size);
	json_tokener_free(tok);
	if (json_object_is_type(replies, json_type_object)) {
		memset(&S, 0, sizeof S);
		fetch_reset();
		fuzz_main(fetch_main, 5, argv, nothing, 1);
	}
	json_object_put(replies);
	return 0;
}
