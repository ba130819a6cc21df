// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Output the commands share: warnings on stderr, JSON lines on stdout. */
#include <stdio.h>
#include <stdlib.h>
#include <cjson/cJSON.h>
#include "cmd.h"

bool scb_verbose;

void scb_warn(const struct scb_error *err)
{
	fprintf(stderr, "sockops-cb: warning: %s\n", err && err->msg ? err->msg : "?");
}

void json_print_line(cJSON *obj)
{
	static char buf[16384];
	char *s;

	/* Most lines fit the static buffer: no allocation per event. */
	if (cJSON_PrintPreallocated(obj, buf, sizeof(buf), 0)) {
		puts(buf);
	} else if ((s = cJSON_PrintUnformatted(obj))) {
		puts(s);
		free(s);
	}
	cJSON_Delete(obj);
}

/* cJSON prints numbers as doubles and re-reads them to check: slow for
 * a stream of integers. These add the exact decimal text instead. */
void json_add_u64(cJSON *obj, const char *key, unsigned long long v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%llu", v);
	cJSON_AddRawToObject(obj, key, buf);
}

void json_add_i64(cJSON *obj, const char *key, long long v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%lld", v);
	cJSON_AddRawToObject(obj, key, buf);
}
