/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The OCI runtime state a hook reads on stdin. */
#ifndef __SCB_OCISTATE_H
#define __SCB_OCISTATE_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>
#include "error.h"
#include "sockops.h"

struct cJSON;

struct oci_state {
	struct cJSON *root;
	const char *id;
	pid_t pid;			/* 0 when absent (poststop) */
	const struct cJSON *annotations;	/* may be NULL */
	/* A string held a NUL (\u0000): cJSON cuts the value there, so
	 * what we read would not be what was sent. */
	bool has_nul;
};

#define OCI_STATE_MAX (16 << 20)

int oci_state_parse(const char *text, size_t len, struct oci_state *st,
		    struct scb_error **err);
int oci_state_read(FILE *in, struct oci_state *st, struct scb_error **err);
void oci_state_free(struct oci_state *st);
/* Names runtimes put in annotations (CRI-O, containerd, podman). */
void oci_state_names(const struct oci_state *st, char *name, char *pod_ns,
		     char *pod_name);

#endif
