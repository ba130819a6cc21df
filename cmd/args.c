// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "args.h"
#include "node.h"

error_t view_parse(int key, char *arg, struct argp_state *state, bool *json, bool *wide,
		   const char **ref)
{
	if (key == 'j' && json) {
		*json = true;
	} else if (key == 'w' && wide) {
		*wide = true;
	} else if (key == ARGP_KEY_ARG && ref) {
		if (*ref)
			argp_usage(state);
		*ref = arg;
	} else {
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

error_t view_parse_one(int key, char *arg, struct argp_state *state, bool *json, bool *wide,
		       const char **ref)
{
	if (key == ARGP_KEY_END && !*ref)
		argp_error(state, "missing CONTAINER");
	return view_parse(key, arg, state, json, wide, ref);
}

error_t load_parse(int key, char *arg, const char **config)
{
	if (key == 'c')
		*config = arg;
	else if (key == 'v')
		loader_init(true);
	else
		return ARGP_ERR_UNKNOWN;
	return 0;
}
