/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Prometheus text exposition of every target's counters. */
#ifndef __SCB_PROMETHEUS_H
#define __SCB_PROMETHEUS_H

#include <stdio.h>
#include "error.h"

/* Reads the pinned maps now; an empty node writes only the node series. */
int metrics_write(FILE *out, struct scb_error **err);

#endif
