/* JSON helpers for integration tests (itest_json.h). */
#include "itest_json.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

size_t itest_json_lines(const char *path, json_t **out, size_t max, size_t min, bool echo)
{
	static char line[1 << 15];
	size_t n = 0;
	for (int tries = 0; tries < 50; tries++) {
		for (size_t i = 0; i < n; i++)
			json_decref(out[i]);
		n = 0;
		FILE *f = fopen(path, "r");
		while (f && n < max && fgets(line, sizeof(line), f)) {
			json_error_t e;
			out[n] = json_loads(line, 0, &e);
			cr_assert_not_null(out[n], "%s: not JSON: %s (%s)", path, line, e.text);
			n++;
		}
		if (f)
			fclose(f);
		if (n >= min)
			break;
		usleep(100000);
	}
	for (size_t i = 0; echo && i < n; i++) {
		char *t = json_dumps(out[i], JSON_COMPACT | JSON_PRESERVE_ORDER);
		fprintf(stderr, "suspicious-log: %s\n", t ? t : "?");
		free(t);
	}
	return n;
}

const char *itest_json_str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? json_string_value(v) : "";
}

void itest_json_free(json_t **l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		json_decref(l[i]);
}
