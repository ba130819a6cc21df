/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The CNI protocol (cniskel.c) and the actions a plugin gives it. */
#ifndef __SCB_CNISKEL_H
#define __SCB_CNISKEL_H

#include "cni.h"

/* The CNI_* environment of one call. */
struct cni_env {
	const char *command;
	const char *container_id;
	const char *netns;
	const char *ifname;
	const char *args;
};

struct cni_plugin {
	int (*add)(const struct cni_env *e, struct cni_req *r, struct scb_error **err);
	int (*del)(const struct cni_env *e, struct cni_req *r, struct scb_error **err);
	int (*check)(const struct cni_env *e, struct cni_req *r, struct scb_error **err);
	int (*gc)(struct cni_req *r, struct scb_error **err);
};

/* An error naming the CNI_* variable an action needs and did not get. */
int cni_need_env(const char *name, const char *val, struct scb_error **err);
/* Runs one CNI call with p's actions; the process's exit code. */
int cni_skel_main(const struct cni_plugin *p);

#endif
