/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Subcommands, one per file, listed in main.c's table. Each returns 0 or
 * a negative value with *err set; only main.c prints errors. */
#ifndef __SCB_CMD_H
#define __SCB_CMD_H

#include <stdbool.h>
#include "error.h"

struct cJSON;

int cmd_hook(int argc, char **argv, struct scb_error **err);
int cmd_attach(int argc, char **argv, struct scb_error **err);
int cmd_detach(int argc, char **argv, struct scb_error **err);
int cmd_unload(int argc, char **argv, struct scb_error **err);
int cmd_list(int argc, char **argv, struct scb_error **err);
int cmd_stats(int argc, char **argv, struct scb_error **err);
int cmd_trace(int argc, char **argv, struct scb_error **err);
int cmd_gc(int argc, char **argv, struct scb_error **err);
int cmd_metrics(int argc, char **argv, struct scb_error **err);
int cmd_serve(int argc, char **argv, struct scb_error **err);
int cmd_conns(int argc, char **argv, struct scb_error **err);
int cmd_peers(int argc, char **argv, struct scb_error **err);
int cmd_flags(int argc, char **argv, struct scb_error **err);
int cmd_check(int argc, char **argv, struct scb_error **err);
/* The CNI plugin's actions (cni.c), run by cni_skel_main (cniskel.c). */
extern const struct cni_plugin cni_plugin;

#include "output.h"

#endif
