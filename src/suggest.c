/* suggest.c: help for a mistyped word. An unknown mode, key or field
 * names the choice the user most likely meant, or lists them all. */
#include <config.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dq.h"

/* Edits (insert, delete, replace, swap two neighbours) from a to b,
 * ignoring case: "working-nwo" is one swap from "working-now". */
static size_t
distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t *d = xmalloc((la + 1) * (lb + 1) * sizeof *d), r;

#define D(i, j) d[(i) * (lb + 1) + (j)]
	for (size_t i = 0; i <= la; i++)
		D(i, 0) = i;
	for (size_t j = 0; j <= lb; j++)
		D(0, j) = j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			int ca = tolower((unsigned char)a[i - 1]);
			int cb = tolower((unsigned char)b[j - 1]);
			size_t best = D(i - 1, j - 1) + (ca != cb);

			if (D(i - 1, j) + 1 < best)
				best = D(i - 1, j) + 1;
			if (D(i, j - 1) + 1 < best)
				best = D(i, j - 1) + 1;
			if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) == cb &&
			    D(i - 2, j - 2) + 1 < best)
				best = D(i - 2, j - 2) + 1;
			D(i, j) = best;
		}
	}
	r = D(la, lb);
#undef D
	free(d);
	return r;
}

const char *
dq_nearest(const char *word, const char *const *choices, size_t n)
{
	size_t len = strlen(word), best = (size_t)-1, prefixed = 0;
	/* A third of the word may be wrong, one letter to three: more
	 * than that and the guess is no longer a help. */
	size_t allowed = len / 3 < 1 ? 1 : len / 3 > 3 ? 3 : len / 3;
	const char *nearest = NULL, *prefix = NULL;

	for (size_t i = 0; i < n; i++) {
		size_t d = distance(word, choices[i]);

		if (d < best) {
			best = d;
			nearest = choices[i];
		}
		if (len >= 3 && strncasecmp(word, choices[i], len) == 0) {
			prefix = choices[i];
			prefixed++;
		}
	}
	if (nearest && best <= allowed)
		return nearest;
	/* "least" is short for one thing only. */
	return prefixed == 1 ? prefix : NULL;
}

const char *
dq_choice_list(const char *const *choices, size_t n)
{
	static char buf[512];

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++)
		snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s",
		    i == 0 ? "" : i + 1 == n ? " or " : ", ", choices[i]);
	return buf;
}

const char *
dq_did_you_mean(const char *word, const char *const *choices, size_t n,
    bool list)
{
	static char buf[600];
	const char *near = dq_nearest(word, choices, n);

	if (near)
		snprintf(buf, sizeof buf, "; did you mean \"%s\"?", near);
	else if (list)
		snprintf(buf, sizeof buf, "; expected %s",
		    dq_choice_list(choices, n));
	else
		buf[0] = '\0';
	return buf;
}
