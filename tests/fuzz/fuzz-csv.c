/* fuzz-csv.c: libFuzzer entry point for the CSV ticket and member import
 * (dq-fetch --csv-tickets, --csv-members). An input is the tickets file,
 * then, after a form feed, the members file. */
#include <config.h>

#define main fetch_main
#include "../../src/dq-fetch.c"
#undef main
#include "../../src/fetch-csv.c"

#include "fuzz-main.h"
#include "fuzz-fetch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t nothing[] = "\n";

/* After a run that stopped: what it had read, and the boards, which the
 * next run would take for its own. */
static void
stopped(void)
{
	json_object_put(teams);
	dq_strlist_clear(&boards);
	fetch_drop();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char tickets[4096], members[4096];
	char *argv[] = { "dq-fetch", "-q", "--now", "2026-11-23T15:00:00Z",
	    "--csv-tickets", tickets, "--csv-members", members, NULL };
	const uint8_t *ff = memchr(data, '\f', size);
	size_t n = ff ? (size_t)(ff - data) : size;
	static int tfd = -1, mfd = -1;

	if (tfd < 0) {
		tfd = fuzz_file("tickets", tickets, sizeof tickets);
		mfd = fuzz_file("members", members, sizeof members);
	}
	fetch_reset();
	teams = NULL;
	fuzz_stopped = stopped;
	fuzz_put(tfd, data, n);
	fuzz_put(mfd, ff ? ff + 1 : data, ff ? size - n - 1 : 0);
	/* Without a form feed, the tickets alone. */
	fuzz_main(fetch_main, ff ? 8 : 6, argv, nothing, 1);
	return 0;
}
