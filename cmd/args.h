/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Options the reading commands share, parsed in one place. */
#ifndef __SCB_ARGS_H
#define __SCB_ARGS_H

#include <argp.h>
#include <stdbool.h>
#include "config.h"

/* What a command's argp parser hands on: -j/--json into *json, -w/--wide
 * into *wide, one positional CONTAINER into *ref (a second is a usage
 * error). A NULL pointer: the command has no such option. Returns
 * ARGP_ERR_UNKNOWN for any other key. */
error_t view_parse(int key, char *arg, struct argp_state *state, bool *json, bool *wide,
		   const char **ref);

/* The same for commands about one container: CONTAINER is required. */
error_t view_parse_one(int key, char *arg, struct argp_state *state, bool *json, bool *wide,
		       const char **ref);

/* -c/--config FILE and -v/--verbose, of the commands that load or attach. */
#define ARGS_OPT_CONFIG { "config", 'c', "FILE", 0, "Configuration (default " SCB_DEFAULT_CONFIG ")", 0 }
#define ARGS_OPT_VERBOSE { "verbose", 'v', NULL, 0, "Print libbpf debug output", 0 }

/* Handles -c into *config and -v (libbpf's and the verifier's output);
 * ARGP_ERR_UNKNOWN for any other key. */
error_t load_parse(int key, char *arg, const char **config);

#endif
