/* buf.c: strings that grow, for URLs, queries and messages built in
 * pieces. */
#include <config.h>

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "dq.h"

void
dq_buf_add(struct dq_buf *b, const char *s, size_t len)
{
	if (b->len + len + 1 > b->cap) {
		b->cap = b->cap ? 2 * b->cap : 256;
		while (b->len + len + 1 > b->cap)
			b->cap *= 2;
		b->s = xrealloc(b->s, b->cap);
	}
	memcpy(b->s + b->len, s, len);
	b->len += len;
	b->s[b->len] = '\0';
}

void
dq_buf_printf(struct dq_buf *b, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		dq_out_of_memory();
	dq_buf_add(b, s, (size_t)n);
	free(s);
}

char *
dq_buf_take(struct dq_buf *b)
{
	char *s = b->s ? b->s : xstrdup("");

	*b = (struct dq_buf){ 0 };
	return s;
}

char *
dq_asprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		dq_out_of_memory();
	va_end(ap);
	return s;
}
