/* fuzz-pods.c: libFuzzer entry point for the pods parser.
 *
 * Each input is parsed as a pods CSV; what parses is also resolved
 * against one context and asked the questions the stages ask, so that
 * name matching and the hours that pods give run too. Built by run.sh. */
#include <config.h>

#include <stdint.h>

#include "dq.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const context[] = {
	("{\"kind\":\"member\",\"id\":\"adoe\",\"name\":\"Andrew Doe\","
	    "\"tz\":\"America/New_York\",\"hours\":{\"mon\":[\"08:00\",\"17:00\"]}}"),
	"{\"kind\":\"member\",\"id\":\"eking\",\"name\":\"Eve King\"}",
	"{\"kind\":\"company\",\"id\":\"250\",\"name\":\"Acme Corp\"}",
};

static struct dq_context *ctx;

static void
setup(void)
{
	ctx = fuzz_context(context, sizeof context / sizeof context[0]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dq_pods *p;
	struct dq_hours hours;
	const char *pod, *zone;
	char err[1024];

	if (!ctx)
		setup();
	p = dq_pods_parse((const char *)data, size, "fuzz", err, sizeof err);
	if (!p)
		return 0;
	dq_pods_resolve(p, ctx, true);
	if ((pod = dq_pods_of_company(p, "Acme Corp")))
		dq_pods_members(p, pod);
	if (dq_pods_hours(p, dq_member_get(ctx, "adoe"), &hours, &zone))
		dq_hours_absence(&hours, zone, 1795442400);
	dq_pods_free(p);
	return 0;
}
