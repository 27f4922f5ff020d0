/* fuzz-policy.c: libFuzzer entry point for the policy reader. Each input
 * is written to a file and read as dq-pick's --policy, so that every key,
 * value check and the credentials-style syntax run, then dq-pick reads an
 * empty stream. */
#include <config.h>

#define main stage_main
#include "../../src/dq-pick.c"
#undef main

#include "fuzz-main.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t nothing[] = "\n";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[4096];
	static int fd = -1;
	char *argv[] = { "dq-pick", "-q", "--policy", path, NULL };

	if (fd < 0)
		fd = fuzz_file("policy", path, sizeof path);
	fuzz_put(fd, data, size);
	fuzz_main(stage_main, 4, argv, nothing, 1);
	return 0;
}
