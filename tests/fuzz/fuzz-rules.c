/* fuzz-rules.c: libFuzzer entry point for the rules parser.
 *
 * Each input is parsed as a rules file; what parses is also evaluated
 * against one ticket and checked against one context, so that conditions,
 * regular expressions and the warnings run too. Built by run.sh. */
#include <config.h>

#include <stdint.h>

#include "dq.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const context[] = {
	"{\"kind\":\"member\",\"id\":\"adoe\",\"name\":\"Andrew Doe\","
	    "\"teams\":[\"10\"]}",
	"{\"kind\":\"team\",\"id\":\"10\",\"name\":\"Service Desk\","
	    "\"boards\":[\"Help Desk\"],\"members\":[\"adoe\"]}",
	"{\"kind\":\"company\",\"id\":\"250\",\"name\":\"Acme Corp\"}",
};

static const char ticket_text[] =
	"{\"kind\":\"ticket\",\"id\":\"1001\",\"summary\":\"Outlook asking "
	"for password again\",\"board\":\"Help Desk\",\"status\":\"New\","
	"\"company\":\"Acme Corp\",\"priority\":\"Priority 1 - Critical\","
	"\"labels\":[\"email\",\"outlook\"],\"type\":\"email\",\"team\":\"10\","
	"\"entered_at\":\"2026-11-23T14:00:00Z\"}";

static struct dq_context *ctx;
static json_object *ticket;

static void
setup(void)
{
	ctx = fuzz_context(context, sizeof context / sizeof context[0]);
	ticket = json_tokener_parse(ticket_text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dq_rules *r;
	char err[1024];

	if (!ctx)
		setup();
	r = dq_rules_parse((const char *)data, size, "fuzz", err, sizeof err);
	if (!r)
		return 0;
	dq_rules_match(r, ctx, ticket, "America/New_York");
	dq_rules_check_context(r, ctx);
	dq_rules_free(r);
	return 0;
}
