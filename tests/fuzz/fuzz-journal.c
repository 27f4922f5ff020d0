/* fuzz-journal.c: libFuzzer entry point for the journal's reading side.
 * Each input is a journal file, read as the stages read it (holdings,
 * last dispatches, dq-pick's context) and as dq-apply's writer catches
 * up on it under the lock (dead runs' unfinished intents, and where each
 * ticket stands). Nothing is written to it. */
#include <config.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dq.h"
#include "fuzz-main.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[4096];
/* What a run reads into, freed after it stops as after it ends. */
static struct dq_strlist paths;
static struct dq_context *ctx;
static struct dq_holdings *hs;
static struct dq_journal *j;

/* Asks the writer's questions about one ticket the journal names. */
static void
ask(const char *ticket, const struct dq_holding *h, void *arg)
{
	struct dq_holding now;
	char *run;
	long pid;

	(void)h;
	if (dq_journal_busy(j, ticket, &run, &pid))
		free(run);
	dq_journal_holding(j, ticket, &now);
	dq_journal_last_outcome(j, ticket);
	dq_journal_last_intent(j, ticket);
}

static void
done(void)
{
	if (j)
		dq_journal_close(j);
	dq_holdings_free(hs);
	if (ctx)
		dq_context_free(ctx);
	dq_strlist_clear(&paths);
	j = NULL;
	hs = NULL;
	ctx = NULL;
}

static int
journal_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	ctx = dq_context_new();
	dq_strlist_add(&paths, path);
	hs = dq_holdings_read(&paths);
	json_object_put(dq_journal_last_dispatch(&paths));
	dq_context_journal(ctx, &paths);
	j = dq_journal_open(path, "fuzz");
	dq_journal_lock(j);
	json_object_put(dq_journal_unfinished(j));
	dq_holdings_each(hs, ask, NULL);
	dq_journal_unlock(j);
	done();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t nothing[] = "\n";
	static int fd = -1;

	if (fd < 0)
		fd = fuzz_file("journal", path, sizeof path);
	fuzz_put(fd, data, size);
	fuzz_stopped = done;
	fuzz_main(journal_main, 0, NULL, nothing, 1);
	return 0;
}
