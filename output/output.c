// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Output the commands share: warnings on stderr, JSON lines on stdout. */
#include <stdio.h>
#include <stdlib.h>
#include <cjson/cJSON.h>
#include "output.h"

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
