/* apply.h: what dq-apply's files share. */

/* dq-apply --approve, --reject, --start or --ack: acts on the agents'
 * tickets named by the operands, from the journal alone. Returns the exit
 * status. */
int dq_apply_agent(int argc, char **argv);
/* dq-apply --pending: lists the agents' assignments that wait for
 * --approve or --start, from the journal alone. Returns the exit status. */
int dq_apply_pending(void);
/* One of a record's applied.changes: a request as it went out (or would
 * have), {"method", "path", "body"}; body is taken with a reference, and
 * a NULL path or body is null. */
json_object *dq_apply_change(const char *method, const char *path,
	json_object *body);
