/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Whole inputs (stdin, config, podman's index) read with a size cap. */
#ifndef __SCB_READALL_H
#define __SCB_READALL_H

#include <stdio.h>

/* Read IN to its end into a NUL-terminated *buf (freed by the caller on
 * success). Returns 0; -1 with errno on a read or memory error; -1 with
 * errno EFBIG when IN holds more than max bytes. */
int read_all(FILE *in, size_t max, char **buf, size_t *len);
/* The same for the file at path; -1 with errno also when it cannot be
 * opened. */
int read_all_path(const char *path, size_t max, char **buf, size_t *len);

#endif
