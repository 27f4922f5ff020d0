/* slurp.c: a whole configuration file in memory, so that its parser can
 * also be handed a buffer (the fuzzers do) and its bytes can go into the
 * config digest unchanged. */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dq.h"

char *
dq_slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "r");
	size_t cap = 4096, n = 0, got;
	char *buf;

	if (!fp)
		dq_die(DQ_EXIT_NOINPUT, "%s: %s", path, strerror(errno));
	buf = xmalloc(cap);
	while ((got = fread(buf + n, 1, cap - n - 1, fp)) > 0) {
		n += got;
		if (cap - n - 1 == 0)
			buf = xrealloc(buf, cap *= 2);
	}
	if (ferror(fp))
		dq_die(DQ_EXIT_NOINPUT, "%s: %s", path, strerror(errno));
	fclose(fp);
	buf[n] = '\0';
	*len = n;
	return buf;
}
