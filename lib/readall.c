// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include "readall.h"

int read_all(FILE *in, size_t max, char **buf, size_t *len)
{
	size_t cap = 1 << 16, n = 0, r;
	char *b = malloc(cap + 1), *nb;

	if (!b)
		return -1;
	/* Grow as data comes: a cap of 64 MiB costs nothing when unused. */
	while ((r = fread(b + n, 1, cap - n, in)) > 0) {
		n += r;
		if (n > max)
			break;
		if (n < cap)
			continue;
		nb = realloc(b, cap * 2 + 1);
		if (!nb) {
			free(b);
			return -1;
		}
		b = nb;
		cap *= 2;
	}
	if (n > max || ferror(in)) {
		errno = n > max ? EFBIG : (errno ? errno : EIO);
		free(b);
		return -1;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

int read_all_path(const char *path, size_t max, char **buf, size_t *len)
{
	FILE *f = fopen(path, "re");
	int ret, saved;

	if (!f)
		return -1;
	ret = read_all(f, max, buf, len);
	saved = errno;
	fclose(f);
	errno = saved;
	return ret;
}
