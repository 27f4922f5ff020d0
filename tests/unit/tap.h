/* tap.h: just enough TAP for the C unit tests. */
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

#define ok(cond, ...) do { \
	tap_n++; \
	if (!(cond)) tap_failed++; \
	printf("%s %d - ", (cond) ? "ok" : "not ok", tap_n); \
	printf(__VA_ARGS__); \
	putchar('\n'); \
} while (0)

#define is_str(got, want, ...) do { \
	const char *g_ = (got), *w_ = (want); \
	int same_ = g_ && w_ ? strcmp(g_, w_) == 0 : g_ == w_; \
	ok(same_, __VA_ARGS__); \
	if (!same_) printf("#   got \"%s\"\n#  want \"%s\"\n", \
	    g_ ? g_ : "(null)", w_ ? w_ : "(null)"); \
} while (0)

#define done_testing() (printf("1..%d\n", tap_n), tap_failed != 0)
