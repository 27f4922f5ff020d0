/* slurp.c: input of bounded size. A whole configuration file in memory,
 * so that its parser can also be handed a buffer (the fuzzers do) and its
 * bytes can go into the config digest unchanged; and lines of at most a
 * given length, so that no input (a stream without newlines, /dev/zero)
 * makes a program grow until it is killed. */
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
		if (n > DQ_MAX_CONFIG) {
			free(buf);
			fclose(fp);
			dq_die(DQ_EXIT_CONFIG, "%s: larger than %d MiB", path,
			    DQ_MAX_CONFIG >> 20);
		}
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

ssize_t
dq_getline(char **line, size_t *cap, FILE *fp, size_t max)
{
	size_t n = 0;
	int c = 0;

	while ((c = getc_unlocked(fp)) != EOF) {
		if (n == max)
			return DQ_LINE_TOO_LONG;
		if (n + 2 > *cap) {
			*cap = *cap ? *cap * 2 : 4096;
			*line = xrealloc(*line, *cap);
		}
		(*line)[n++] = (char)c;
		if (c == '\n')
			break;
	}
	if (n == 0)
		return -1;
	(*line)[n] = '\0';
	return (ssize_t)n;
}
