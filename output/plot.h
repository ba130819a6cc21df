/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* `stats --plot`: a picture of one container's RTT histogram and its
 * counters over time, drawn by gnuplot. */
#ifndef __SCB_PLOT_H
#define __SCB_PLOT_H

#include <linux/types.h>
#include "error.h"
#include "sockops.h"

struct plot_sample {
	double t;	/* seconds since the first sample */
	struct scb_stats s;
};

/* FILE's extension picks the format: .svg or .png. */
/* Can FILE be written? Before sampling for it. */
int plot_check(const char *file, struct scb_error **err);
int plot_write(const char *file, const struct scb_target *t,
	       const struct plot_sample *xs, int n, struct scb_error **err);

#endif
