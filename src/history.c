/* history.c: "historical success on similar tickets".
 *
 * A member's score for a ticket adds up, over the closed tickets they
 * owned, how alike each one is to this ticket, weighted by its age:
 *
 *   alike = 3 same company + 2 same type + 2 same subtype + 1 same item
 *         + 1 same board + 4 x (shared summary words / all summary words)
 *   weight = 0.5 ^ (days since closed / --history-half-life-days)
 *
 * Scores are kept in thousandths so that ranking by them is exact and the
 * same on every machine. */
#include <config.h>

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dq.h"

static const char *const stopwords[] = {
	"about", "after", "all", "and", "are", "can", "cannot", "for", "from",
	"has", "have", "into", "new", "not", "our", "please", "the", "this",
	"that", "was", "will", "with",
};

static bool
is_stopword(const char *w, size_t n)
{
	for (size_t i = 0; i < sizeof stopwords / sizeof stopwords[0]; i++)
		if (strlen(stopwords[i]) == n && !memcmp(stopwords[i], w, n))
			return true;
	return false;
}

static int
u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Words of three or more letters or digits, lower-cased, hashed (FNV-1a),
 * sorted and unique. Bytes of UTF-8 sequences count as letters. */
static size_t
summary_words(const char *s, uint32_t **out)
{
	size_t n = 0, cap = 0, kept = 0;
	uint32_t *v = NULL;
	char word[128];

	while (s && *s) {
		size_t len = 0;

		while (*s && !isalnum((unsigned char)*s) && !((unsigned char)*s & 0x80))
			s++;
		while (*s && (isalnum((unsigned char)*s) || ((unsigned char)*s & 0x80))) {
			if (len < sizeof word)
				word[len++] = (char)tolower((unsigned char)*s);
			s++;
		}
		if (len < 3 || is_stopword(word, len))
			continue;
		uint32_t h = 2166136261u;
		for (size_t i = 0; i < len; i++)
			h = (h ^ (unsigned char)word[i]) * 16777619u;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			v = xrealloc(v, cap * sizeof *v);
		}
		v[n++] = h;
	}
	if (n)
		qsort(v, n, sizeof *v, u32_cmp);
	for (size_t i = 0; i < n; i++)
		if (kept == 0 || v[i] != v[kept - 1])
			v[kept++] = v[i];
	*out = v;
	return kept;
}

/* The fields a similar ticket shares, and what each is worth. */
static const char *const hist_fields[DQ_HIST_FIELDS] = {
	"company", "type", "subtype", "item", "board",
};
static const double hist_weights[DQ_HIST_FIELDS] = { 3, 2, 2, 1, 1 };

void
dq_hist_init(struct dq_hist *h, json_object *rec)
{
	h->rec = rec;
	for (int i = 0; i < DQ_HIST_FIELDS; i++)
		h->field[i] = dq_get_str(rec, hist_fields[i]);
	h->nwords = summary_words(dq_get_str(rec, "summary"), &h->words);
	h->has_closed = dq_time_parse(dq_get_str(rec, "closed_at"), &h->closed);
}

static size_t
shared_words(const uint32_t *a, size_t na, const uint32_t *b, size_t nb)
{
	size_t i = 0, j = 0, n = 0;

	while (i < na && j < nb) {
		if (a[i] == b[j]) {
			n++;
			i++;
			j++;
		} else if (a[i] < b[j]) {
			i++;
		} else {
			j++;
		}
	}
	return n;
}


/* Keeps the DQ_EVIDENCE largest parts, ties to the lower ticket id so the
 * list does not depend on the order history arrived in. */
static void
evidence_add(struct dq_evidence *ev, const char *ticket, double part)
{
	size_t i = ev->n;

	while (i > 0 && (part > ev->part[i - 1] || (part == ev->part[i - 1] &&
	    strcmp(ticket, ev->ticket[i - 1]) < 0)))
		i--;
	if (i >= DQ_EVIDENCE)
		return;
	if (ev->n < DQ_EVIDENCE)
		ev->n++;
	for (size_t j = ev->n - 1; j > i; j--) {
		ev->ticket[j] = ev->ticket[j - 1];
		ev->part[j] = ev->part[j - 1];
	}
	ev->ticket[i] = ticket;
	ev->part[i] = part;
}

long
dq_history_score(struct dq_context *ctx, json_object *ticket,
    const char *member, time_t now, struct dq_evidence *ev)
{
	/* Ticket words are taken out once per ticket, not per candidate. */
	static json_object *last_ticket;
	static char *last_summary;
	static uint32_t *words;
	static size_t nwords;
	const char *summary = dq_get_str(ticket, "summary");
	const char *field[DQ_HIST_FIELDS];
	struct dq_hist *hist;
	size_t nhist = dq_member_history(ctx, member, &hist);
	double score = 0;

	if (ev)
		ev->n = 0;
	if (nhist == 0)
		return 0;
	if (ticket != last_ticket || !last_summary || !summary ||
	    strcmp(summary, last_summary) != 0) {
		free(words);
		free(last_summary);
		nwords = summary_words(summary, &words);
		last_summary = xstrdup(summary ? summary : "");
		last_ticket = ticket;
	}
	for (int f = 0; f < DQ_HIST_FIELDS; f++)
		field[f] = dq_get_str(ticket, hist_fields[f]);
	for (size_t i = 0; i < nhist; i++) {
		struct dq_hist *h = &hist[i];
		double alike = 0, weight = 1;
		size_t shared;

		for (int f = 0; f < DQ_HIST_FIELDS; f++)
			if (field[f] && *field[f] && h->field[f] &&
			    !strcmp(field[f], h->field[f]))
				alike += hist_weights[f];
		shared = shared_words(words, nwords, h->words, h->nwords);
		if (shared)
			alike += 4.0 * (double)shared /
			    (double)(nwords + h->nwords - shared);
		if (h->has_closed && h->closed < now)
			weight = pow(0.5, (double)(now - h->closed) / 86400.0 /
			    (double)dq_policy.history_half_life_days);
		score += alike * weight;
		if (ev && alike * weight > 0)
			evidence_add(ev, dq_get_str(h->rec, "ticket"), alike * weight);
	}
	return lround(score * 1000);
}

json_object *
dq_json_milli(long milli)
{
	char text[32];

	snprintf(text, sizeof text, "%s%ld.%03ld", milli < 0 ? "-" : "",
	    labs(milli) / 1000, labs(milli) % 1000);
	return json_object_new_double_s((double)milli / 1000.0, text);
}
