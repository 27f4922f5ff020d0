/* The baseline dq-eligible and dq-pick are measured against: parse each
 * line with json-c and write it back, nothing else. */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

int
main(void)
{
	json_tokener *tok = json_tokener_new();
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	while ((n = getline(&line, &cap, stdin)) > 0) {
		json_object *o;

		json_tokener_reset(tok);
		o = json_tokener_parse_ex(tok, line, (int)n);
		if (!o)
			return 65;
		puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
		    JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	}
	return 0;
}
