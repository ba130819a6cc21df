/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Event types of `trace`: their names, and the mask a reader asks the
 * reader's program for (bit 1 << type: event_mask in bpf/trace.bpf.c). */
#ifndef __SCB_EVTYPES_H
#define __SCB_EVTYPES_H

#include <stddef.h>
#include <stdint.h>
#include "error.h"

/* The name of an event type, "?" for unknown ones. */
const char *event_name(uint32_t type);
/* Every event type the program emits. */
uint32_t event_mask_all(void);
/* "STATE,RETRANS" (separators: comma, plus, space; any case;
 * ESTABLISHED means both kinds) -> mask. */
int event_mask_parse(const char *list, uint32_t *mask, struct scb_error **err);

#endif
