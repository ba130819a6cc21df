/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Options the reading commands share, parsed in one place. */
#ifndef __SCB_ARGS_H
#define __SCB_ARGS_H

#include <argp.h>
#include <stdbool.h>

/* What a command's argp parser hands on: -j/--json into *json, -w/--wide
 * into *wide, one positional CONTAINER into *ref (a second is a usage
 * error). A NULL pointer: the command has no such option. Returns
 * ARGP_ERR_UNKNOWN for any other key. */
error_t view_parse(int key, char *arg, struct argp_state *state, bool *json, bool *wide,
		   const char **ref);

#endif
