/* fuzz-stage.c: libFuzzer entry point for a stage's whole path: the
 * NDJSON record reader and the stage's handling of each record, through
 * its own main. run.sh builds it once per stage, with FUZZ_STAGE_name
 * defined; an input is the stage's stdin. A dry run of dq-apply (nothing
 * to write with) stands for its per-record path.
 *
 * Each stage's reset clears what its last run left in the program's own
 * variables, which a program run once never sees; its stopped frees what
 * a run that stopped had built, so that memory does not pile up. */
#include <config.h>

#define main stage_main
#if defined FUZZ_STAGE_eligible
#include "../../src/dq-eligible.c"
#define ARGS "dq-eligible", "--working-now", \
	"--pods", FUZZ_SEEDS "/pods/pods.csv"

static void
reset(void)
{
	ctx = NULL;
	pods = NULL;
	holdings = NULL;
	pools = judgements = NULL;
	seen_ticket = false;
	for (size_t i = 0; i < NFILTERS; i++)
		filters[i].met = NULL;
}

static void
stopped(void)
{
	if (judgements)
		lh_table_free(judgements);
	if (pools)
		lh_table_free(pools);
	if (ctx)
		dq_context_free(ctx);
	dq_pods_free(pods);
	dq_holdings_free(holdings);
	for (size_t i = 0; i < NFILTERS; i++)
		free(filters[i].met);
}
#elif defined FUZZ_STAGE_pick
#include "../../src/dq-pick.c"
#define ARGS "dq-pick", "--mode", "earliest-slot", \
	"--pods", FUZZ_SEEDS "/pods/pods.csv", \
	"--rules", FUZZ_SEEDS "/rules/sop.rules"

static void
reset(void)
{
	ctx = NULL;
	rules = NULL;
	pods = NULL;
	seen_ticket = false;
}

static void
stopped(void)
{
	if (ctx)
		dq_context_free(ctx);
	dq_rules_free(rules);
	dq_pods_free(pods);
}
#elif defined FUZZ_STAGE_schedule
#include "../../src/dq-schedule.c"
#define ARGS "dq-schedule", "--backfill", \
	"--pods", FUZZ_SEEDS "/pods/pods.csv"

static void
reset(void)
{
	ctx = NULL;
	pods = NULL;
}

static void
stopped(void)
{
	if (ctx)
		dq_context_free(ctx);
	dq_pods_free(pods);
}
#elif defined FUZZ_STAGE_apply
/* Shown as the table, which has the most to do with text. */
#include "../../src/dq-apply.c"
#define ARGS "dq-apply", "--format", "table", "--tz", "America/New_York"

static void
reset(void)
{
	ctx = NULL;
	holdings = NULL;
	events = seen = NULL;
	run_id = NULL;
	status = 0;
	tally_tickets = 0;
	memset(tally_decision, 0, sizeof tally_decision);
	memset(tally_outcome, 0, sizeof tally_outcome);
}

static void
stopped(void)
{
	if (ctx)
		dq_context_free(ctx);
	dq_holdings_free(holdings);
	json_object_put(events);
	json_object_put(seen);
	free(run_id);
}
#else
#error "run.sh defines FUZZ_STAGE_ and a stage's name"
#endif
#undef main

#include "fuzz-main.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[] = { ARGS, "-q", "--now", "2026-11-23T15:00:00Z", NULL };

	reset();
	fuzz_stopped = stopped;
	fuzz_main(stage_main, (int)(sizeof argv / sizeof argv[0]) - 1, argv,
	    data, size);
	return 0;
}
