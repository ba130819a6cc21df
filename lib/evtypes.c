// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "evtypes.h"
#include "sockops.h"
#include "text.h"

static const char *const event_names[] = {
	[SCB_EV_CONNECT] = "CONNECT",
	[SCB_EV_ACTIVE_ESTABLISHED] = "ACTIVE_ESTABLISHED",
	[SCB_EV_PASSIVE_ESTABLISHED] = "PASSIVE_ESTABLISHED",
	[SCB_EV_LISTEN] = "LISTEN",
	[SCB_EV_STATE] = "STATE",
	[SCB_EV_RTT] = "RTT",
	[SCB_EV_RTO] = "RTO",
	[SCB_EV_RETRANS] = "RETRANS",
	[SCB_EV_CLOSE] = "CLOSE",
};

#define N_TYPES (sizeof(event_names) / sizeof(event_names[0]))

const char *event_name(uint32_t type)
{
	return type < N_TYPES && event_names[type] ? event_names[type] : "?";
}

uint32_t event_mask_all(void)
{
	uint32_t m = 0, t;

	for (t = 0; t < N_TYPES; t++)
		if (event_names[t])
			m |= 1U << t;
	return m;
}

static uint32_t mask_of(const char *word)
{
	uint32_t t;

	if (!strcasecmp(word, "ESTABLISHED"))
		return 1U << SCB_EV_ACTIVE_ESTABLISHED | 1U << SCB_EV_PASSIVE_ESTABLISHED;
	for (t = 0; t < N_TYPES; t++)
		if (event_names[t] && !strcasecmp(word, event_names[t]))
			return 1U << t;
	return 0;
}

int event_mask_parse(const char *list, uint32_t *mask, struct scb_error **err)
{
	char *copy, *word, *save = NULL, esc[96];
	uint32_t m = 0, one;

	if (!list || strlen(list) > 1024)
		return scb_error_set(err, SCB_ERR_INPUT, "--events: a list of event types, e.g. STATE,RETRANS");
	copy = strdup(list);
	if (!copy)
		return scb_error_set(err, SCB_ERR_INTERNAL, "out of memory");
	for (word = strtok_r(copy, ",+ ", &save); word; word = strtok_r(NULL, ",+ ", &save)) {
		one = mask_of(word);
		if (!one) {
			scb_error_set(err, SCB_ERR_INPUT,
				      "--events: unknown event type \"%s\"; known: CONNECT, ESTABLISHED, ACTIVE_ESTABLISHED, PASSIVE_ESTABLISHED, LISTEN, STATE, RTT, RTO, RETRANS, CLOSE",
				      text_escape(word, esc, sizeof(esc)));
			free(copy);
			return -1;
		}
		m |= one;
	}
	free(copy);
	if (!m)
		return scb_error_set(err, SCB_ERR_INPUT, "--events: no event type given");
	*mask = m;
	return 0;
}
