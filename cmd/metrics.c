// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* `sockops-cb metrics`: the Prometheus text of every target, once. */
#include <argp.h>
#include <stdio.h>
#include "cmd.h"
#include "prometheus.h"

static const char metrics_doc[] =
	"Print every traced container's counters in the Prometheus text format.\n"
	"\n"
	"EXAMPLES:\n"
	"    sockops-cb metrics\n"
	"    sockops-cb metrics > /var/lib/node_exporter/textfile/sockops-cb.prom.$$ && \\\n"
	"      mv /var/lib/node_exporter/textfile/sockops-cb.prom.$$ /var/lib/node_exporter/textfile/sockops-cb.prom";

int cmd_metrics(int argc, char **argv, struct scb_error **err)
{
	static const struct argp_option opts[] = { {} };
	const struct argp argp = { .options = opts, .doc = metrics_doc };

	argp_parse(&argp, argc, argv, 0, NULL, NULL);
	return metrics_write(stdout, err);
}
