/* fuzz-hours.c: libFuzzer entry point for the grammar of working hours
 * (dq-pods(5)) that pods and the CSV members file share.
 *
 * What parses must also survive the way to a record and back: the
 * record form of the week, read as a member record's hours, is the same
 * week, or the run stops. Built by run.sh. */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xmalloc(size + 1), err[256];
	struct dq_hours h, again;
	json_object *rec;

	memcpy(text, data, size);
	text[size] = '\0';
	if (dq_hours_parse_text(text, &h, err, sizeof err)) {
		rec = dq_hours_json(&h);
		if (!dq_hours_parse(rec, NULL, &again, err, sizeof err) ||
		    memcmp(h.nstretch, again.nstretch, sizeof h.nstretch) != 0)
			abort();
		for (int d = 0; d < 7; d++)
			for (int i = 0; i < h.nstretch[d]; i++)
				if (h.stretch[d][i].start != again.stretch[d][i].start ||
				    h.stretch[d][i].end != again.stretch[d][i].end)
					abort();
		json_object_put(rec);
		dq_hours_free(&again);
		dq_hours_free(&h);
	}
	free(text);
	return 0;
}
