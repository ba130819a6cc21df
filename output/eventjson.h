/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* `trace --json` lines without a cJSON tree per event: at ~200,000
 * events/s building, printing and freeing one cost the reader ~1.3 us per
 * event. The only untrusted strings of an event are its target's (id,
 * names); cJSON escapes them once per target (event_json_target), and
 * the rest is numbers, addresses and fixed names. */
#ifndef __SCB_EVENTJSON_H
#define __SCB_EVENTJSON_H

#include <stddef.h>
#include <stdint.h>
#include "sockops.h"

#define EVENT_JSON_FRAG	4096	/* a target's fields, escaped */
#define EVENT_JSON_LINE	(EVENT_JSON_FRAG + 1024)

/* The target's "id":...,"name":... members (no braces) into frag. */
void event_json_target(const struct scb_target *t, char *frag, size_t len);
/* One event as a JSON object (no newline); real_ns: its wall-clock time;
 * dur_ms: a CLOSE's duration, -1 when unknown. Returns the length. */
size_t event_json(char *buf, size_t len, const char *frag, const struct scb_event *e,
		  uint64_t real_ns, int64_t dur_ms);

#endif
