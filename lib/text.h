/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Untrusted strings: validation of ids and safe display. */
#ifndef __SCB_TEXT_H
#define __SCB_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Container id: 1..128 of [A-Za-z0-9_.-], not "." or "..", no "..". */
bool text_valid_id(const char *id);
/* Flag set names: 1..31 of [A-Za-z0-9_.-]. */
bool text_valid_set_name(const char *name);
/* s in at most width columns for a table: s itself, or its first
 * width - 1 bytes and a '~' in buf (width + 1 bytes). */
const char *text_fit(const char *s, int width, char *buf);
/* Printable ASCII copy; others as \xNN; cut with "..." when too long. */
const char *text_escape(const char *in, char *out, size_t len);
/* Label for display (names, pod names): like escape, into a fixed field. */
void text_label(char *dst, size_t len, const char *src);
/* A number of bytes in at most 7 columns: 1023, 12.3K, 4.5M, 1.2G. */
const char *text_bytes(unsigned long long v, char *buf, size_t len);

#endif
