/* diag.c: diagnostics in one format, exit statuses, checked allocation. */
#include <config.h>

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "dq.h"

const char *dq_progname = "dq";

void
dq_setprogname(const char *argv0)
{
	const char *slash = strrchr(argv0, '/');

	dq_progname = slash ? slash + 1 : argv0;
}

static void vwarn_errno(int, const char *, va_list)
	__attribute__((format(printf, 2, 0)));

static void
vwarn_errno(int errnum, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", dq_progname);
	vfprintf(stderr, fmt, ap);
	if (errnum)
		fprintf(stderr, ": %s", strerror(errnum));
	fputc('\n', stderr);
}

void
dq_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn_errno(0, fmt, ap);
	va_end(ap);
}

void
dq_warn(const char *fmt, ...)
{
	int errnum = errno;
	va_list ap;

	va_start(ap, fmt);
	vwarn_errno(errnum, fmt, ap);
	va_end(ap);
}

void
dq_die(int status, const char *fmt, ...)
{
	va_list ap;

	/* Whole records written before the error still reach the reader. */
	fflush(stdout);
	va_start(ap, fmt);
	vwarn_errno(0, fmt, ap);
	va_end(ap);
	exit(dq_close_stdout(status));
}

void
dq_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn_errno(0, fmt, ap);
	va_end(ap);
	fprintf(stderr, "Try '%s --help' for more information.\n", dq_progname);
	exit(dq_close_stdout(DQ_EXIT_USAGE));
}

void
dq_out_of_memory(void)
{
	fflush(stdout);
	fputs(dq_progname, stderr);
	fputs(": out of memory\n", stderr);
	exit(dq_close_stdout(DQ_EXIT_SOFTWARE));
}

const char *
dq_excerpt(const char *s)
{
	static char buf[4][DQ_EXCERPT + 4];
	static int next;
	char *out = buf[next++ % 4];
	size_t n = 0;

	for (; s && *s && n < DQ_EXCERPT; s++, n++)
		out[n] = *s >= ' ' && *s <= '~' ? *s : '?';
	strcpy(out + n, s && *s ? "..." : "");
	return out;
}

void
dq_printable(char *msg)
{
	for (; *msg; msg++)
		if ((unsigned char)*msg < ' ' || *msg == 0x7f)
			*msg = '?';
}

static int
exit_rank(int code)
{
	return code == DQ_EXIT_UNAVAILABLE ? 3 : code == DQ_EXIT_DATA ? 2 :
	    code == DQ_EXIT_TEMPFAIL ? 1 : 0;
}

int
dq_exit_worse(int a, int b)
{
	return exit_rank(b) > exit_rank(a) ? b : a;
}

int
dq_close_stdout(int status)
{
	bool failed = ferror(stdout) != 0;
	int errnum = errno;

	if (fclose(stdout) != 0) {
		failed = true;
		errnum = errno;
	}
	if (failed) {
		/* A reader that went away is not our failure to report. */
		if (errnum != EPIPE)
			fprintf(stderr, "%s: write error: %s\n", dq_progname,
			    strerror(errnum));
		return status ? status : DQ_EXIT_IO;
	}
	return status;
}

void *
xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (!p)
		dq_out_of_memory();
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		dq_out_of_memory();
	return p;
}

void *
xrealloc(void *p, size_t size)
{
	void *q = realloc(p, size ? size : 1);

	if (!q)
		dq_out_of_memory();
	return q;
}

char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		dq_out_of_memory();
	return p;
}
