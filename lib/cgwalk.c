// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include "cgwalk.h"

#define CGWALK_DEPTH 32	/* cgroup trees are shallow; bounds the recursion */

static int walk(const char *path, int depth, cgwalk_fn fn, void *ctx)
{
	char sub[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int ret;

	ret = fn(path, depth, ctx);
	if (ret || depth >= CGWALK_DEPTH)
		return ret;
	d = opendir(path);
	if (!d)
		return 0;	/* removed meanwhile */
	while (!ret && (de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		if (snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name) >= (int)sizeof(sub))
			continue;
		ret = walk(sub, depth + 1, fn, ctx);
	}
	closedir(d);
	return ret;
}

int cgwalk(const char *abs, cgwalk_fn fn, void *ctx)
{
	return walk(abs, 0, fn, ctx);
}
