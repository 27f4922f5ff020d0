/* words.c: a decision's reason in the words a dispatcher would use. The
 * reasons in records are short structured strings for machines; the
 * internal note and explanations say the same in words, from here. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "dq.h"

/* "2 open tickets", "1 open ticket" */
static void
count_of(struct dq_buf *b, const char *n, const char *what)
{
	dq_buf_printf(b, "%s %s%s", n, what, strcmp(n, "1") ? "s" : "");
}

/* The mode's own reasons, and the skips and the rest with no prefix. */
static void
plain_words(struct dq_buf *b, const char *r)
{
	static const struct { const char *reason, *words; } fixed[] = {
		{ "round-robin", "round robin: the longest without a new ticket" },
		{ "default-team", "the board's default team" },
		{ "default-team:kept", "default team: the ticket keeps its team" },
		{ "manual", "manual dispatch only" },
		{ "no-eligible-candidate", "nobody was eligible" },
		{ "board", "not on a board dq dispatches" },
		{ "status", "not in a status that triggers dispatch" },
		{ "already-owned", "it already has an owner" },
		{ "already-dispatched", "dq already dispatched it" },
		{ "auto-dispatch-off", "automatic dispatch is off" },
	};
	const char *colon = strchr(r, ':');
	const char *arg = colon ? colon + 1 : "";
	size_t len = colon ? (size_t)(colon - r) : strlen(r);
	const char *slash;

	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
		if (!strcmp(r, fixed[i].reason)) {
			dq_buf_printf(b, "%s", fixed[i].words);
			return;
		}
	}
	if (!strncmp(r, "least-active", len) && colon) {
		dq_buf_printf(b, "least active: ");
		count_of(b, arg, "open ticket");
	} else if (!strncmp(r, "capability-match", len) && colon &&
	    (slash = strchr(arg, '/'))) {
		dq_buf_printf(b, "capability match: %.*s of %s labels",
		    (int)(slash - arg), arg, slash + 1);
	} else if (!strncmp(r, "priority-match", len) && colon) {
		dq_buf_printf(b, "priority match: skilled for %s priority", arg);
	} else if (!strncmp(r, "earliest-slot", len) && colon) {
		dq_buf_printf(b, "earliest slot: the first free calendar time");
	} else if (!strncmp(r, "company-not-included", len) && colon) {
		dq_buf_printf(b, "company %s is not among those dispatched", arg);
	} else if (!strncmp(r, "company-excluded", len) && colon) {
		dq_buf_printf(b, "company %s is excluded", arg);
	} else {
		dq_buf_printf(b, "%s", r);
	}
}

char *
dq_reason_words(const char *reason)
{
	struct dq_buf b = { 0 };

	if (!reason || !*reason)
		return xstrdup("no reason given");
	if (!strncmp(reason, "rule:", 5)) {
		/* rule:<id>:<action>[,<the mode's reason>] */
		const char *id = reason + 5, *action = strchr(id, ':');
		const char *then = action ? strchr(action, ',') : NULL;

		if (!action) {
			dq_buf_printf(&b, "%s", reason);
			return dq_buf_take(&b);
		}
		dq_buf_printf(&b, "rule %.*s: ", (int)(action - id), id);
		action++;
		if (!then) {
			dq_buf_printf(&b, "%s", action);
		} else if (!strncmp(action, "target-ineligible,", 18)) {
			dq_buf_printf(&b, "its target was not eligible, so the "
			    "mode picked (%.*s)", (int)strcspn(then + 1, " "),
			    then + 1);
		} else {
			dq_buf_printf(&b, "%.*s, then ", (int)(then - action),
			    action);
			plain_words(&b, then + 1);
		}
		return dq_buf_take(&b);
	}
	plain_words(&b, reason);
	return dq_buf_take(&b);
}
