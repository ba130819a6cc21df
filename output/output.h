/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What every command prints the same way: warnings, JSON lines. */
#ifndef __SCB_OUTPUT_H
#define __SCB_OUTPUT_H

#include "error.h"

struct cJSON;

/* One line on stderr: "sockops-cb: warning: MSG". */
void scb_warn(const struct scb_error *err);
/* Print one JSON object on one line and free it. */
void json_print_line(struct cJSON *obj);

#endif
