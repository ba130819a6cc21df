/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* When each connection `trace` saw started, by socket cookie: the CLOSE
 * summary's duration. The program keeps no per-connection record (it
 * would cost more than all its counting), so the reader remembers. A
 * bounded open-addressing table; a connection that started before the
 * trace, or while the table was full, has no known duration. */
#ifndef __SCB_CONNTIME_H
#define __SCB_CONNTIME_H

#include <stdbool.h>
#include <stdint.h>

struct conntime;

struct conntime *conntime_new(void);
void conntime_free(struct conntime *t);
/* First sighting wins; cookie 0 is never a socket's. */
void conntime_start(struct conntime *t, uint64_t cookie, uint64_t ts_ns);
/* The start of cookie's connection, forgotten: it ended. */
bool conntime_end(struct conntime *t, uint64_t cookie, uint64_t *ts_ns);

#endif
