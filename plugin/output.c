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
	char *s = cJSON_PrintUnformatted(obj);

	if (s)
		printf("%s\n", s);
	free(s);
	cJSON_Delete(obj);
}
