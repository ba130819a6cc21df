/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Prometheus text exposition of every target's counters. */
#ifndef __SCB_PROMETHEUS_H
#define __SCB_PROMETHEUS_H

#include <stdio.h>
#include "error.h"

/* Reads the pinned maps now; an empty node writes only the node series. */
int metrics_write(FILE *out, struct scb_error **err);
/* Label values: backslash, double quote and newline escaped. */
void prom_label_value(char *dst, size_t len, const char *src);
struct scb_node;
/* sockops_cb_identity_info of every target with identity on, and the
 * per-peer families (prompeers.c). */
void prom_peers_write(FILE *out, struct scb_node *n);

#endif
