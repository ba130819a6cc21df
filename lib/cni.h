/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The CNI request: stdin parsed and resolved against the config. Split
 * from the protocol so tests and fuzzers can feed it bytes. */
#ifndef __SCB_CNI_H
#define __SCB_CNI_H

#include <stdbool.h>
#include <stddef.h>
#include "config.h"

#define CNI_POD_ANNOTATIONS	"io.kubernetes.cri.pod-annotations"
#define CNI_VALID_ATTACHMENTS	"cni.dev/valid-attachments"

struct cJSON;
struct scb_attachment;

/* The versions we speak, oldest first, NULL-terminated. */
extern const char *const cni_versions[];

struct cni_req {
	struct cJSON *conf;
	const char *name;		/* network name */
	const struct cJSON *prev;	/* prevResult */
	const struct cJSON *rc;		/* runtimeConfig */
	struct scb_config cfg;
	char pod_ns[SCB_NAME_LEN];
	char pod_name[SCB_NAME_LEN];
};

/* need_version: refuse a cniVersion we do not speak (all but VERSION). */
int cni_parse(const char *buf, size_t len, struct cni_req *r, bool need_version,
	      struct scb_error **err);
/* Validate the config and pick the pod's flags from its annotations. */
int cni_resolve(struct cni_req *r, struct scb_request *q, struct scb_error **err);
void cni_req_free(struct cni_req *r);
/* Value of KEY in CNI_ARGS ("K=V;K=V"), made printable. */
void cni_arg(const char *args, const char *key, char *out, size_t len);
/* The version replies and errors speak: the request's, once parsed. */
const char *cni_version_spoken(void);
/* Position of v in cni_versions, -1 if unknown: versions compare by it. */
int cni_version_rank(const char *v);
/* GC keeps what the runtime lists in cni.dev/valid-attachments. */
bool cni_attachment_valid(const struct cJSON *keep, const char *id,
			  const struct scb_attachment *att);

#endif
