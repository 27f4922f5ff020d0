/* dq-schedule: a calendar slot for each assigned ticket. */
#include <config.h>

#include <string.h>

#include "dq.h"

static struct dq_context *ctx;
static struct dq_pods *pods;

static json_object *
slot_json(const struct dq_booking *b)
{
	json_object *o = json_object_new_object();
	char buf[DQ_TIMEBUF];

	if (!b->found) {
		json_object_object_add(o, "error", json_object_new_string("no-slot"));
		return o;
	}
	json_object_object_add(o, "member", json_object_new_string(b->member));
	json_object_object_add(o, "start", json_object_new_string(
	    dq_time_format(b->slot.start, buf)));
	json_object_object_add(o, "end", json_object_new_string(
	    dq_time_format(b->slot.end, buf)));
	json_object_object_add(o, "buffer_minutes",
	    json_object_new_int64(dq_policy.buffer_minutes));
	return o;
}

/* dq-pick chose a start that is gone: the stream changed between the
 * stages, or they ran with different settings. Worth a word either way. */
static void
warn_moved(const char *ticket, const struct dq_booking *b)
{
	char wanted[DQ_TIMEBUF], got[DQ_TIMEBUF];

	dq_time_format(b->wanted, wanted);
	if (b->found)
		dq_warnx("%s: ticket %s: the slot dq-pick chose for %s at %s is "
		    "not free; booked %s instead", dq_where(), ticket, b->member,
		    wanted, dq_time_format(b->slot.start, got));
	else
		dq_warnx("%s: ticket %s: the slot dq-pick chose for %s at %s is "
		    "not free, and no other is", dq_where(), ticket, b->member,
		    wanted);
}

static void
ticket(struct dq_input *in, void *arg)
{
	const char *id = dq_need_str(in->rec, "ticket", "id");
	struct dq_booking b;

	/* A ticket that came before gives its earlier slot back. */
	dq_ticket_arrives(ctx, id, in->lineno);
	if (pods)	/* the context has arrived: match the file's names */
		dq_pods_resolve(pods, ctx, false);
	if (!dq_book_ticket(ctx, pods, in->rec, dq_policy.backfill, &b)) {
		dq_write_input(in);
		return;
	}
	if (!dq_policy.quiet && !dq_member_get(ctx, b.member))
		dq_warnx("%s: ticket %s: no member record with id \"%s\"",
		    dq_where(), id, b.member);
	else if (!dq_policy.quiet && b.moved)
		warn_moved(id, &b);
	dq_write_annotated(in, "slot", slot_json(&b));
}

int
main(int argc, char *argv[])
{
	int first = dq_policy_load(argc, argv, DQ_SCHEDULE, "[options] [file ...]",
	    "Books a calendar slot for each assigned ticket.");

	if (dq_policy.pods_file)
		pods = dq_pods_load(dq_policy.pods_file);
	ctx = dq_context_new();
	dq_stage_stream(argc - first, argv + first, ctx, ticket);
	dq_context_free(ctx);
	dq_pods_free(pods);
	return dq_close_stdout(0);
}
