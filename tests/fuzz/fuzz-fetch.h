/* fuzz-fetch.h: what the dq-fetch harnesses share, included after
 * dq-fetch.c: the records it holds until it writes them. */

/* Before a run: what the last run freed, or what fetch_drop freed after
 * it stopped, is not freed twice. */
static void
fetch_reset(void)
{
	held = NULL;
	nheld = capheld = 0;
	by_key = NULL;
}

/* After a run that stopped before writing. */
static void
fetch_drop(void)
{
	for (size_t i = 0; i < nheld; i++)
		json_object_put(held[i].rec);
	free(held);
	if (by_key)
		lh_table_free(by_key);
}
