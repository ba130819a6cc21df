// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The CNI request: the network configuration on stdin, CNI_ARGS, the
 * versions we speak, and the pod's flags resolved against the config. */
#include <stdio.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "cni.h"
#include "text.h"

/* 0.3.x: what flannel, Calico and Cilium conflists still declare. */
const char *const cni_versions[] = { "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0", NULL };
/* Copied out of the request: the error JSON is printed after it is freed. */
static char cni_version[16] = "1.1.0";
const char *cni_version_spoken(void)
{
	return cni_version;
}

static bool version_supported(const char *v)
{
	const char *const *p;

	for (p = cni_versions; *p; p++)
		if (!strcmp(v, *p))
			return true;
	return false;
}

/* CNI_ARGS: "IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=name" */
void cni_arg(const char *args, const char *key, char *out, size_t len)
{
	size_t klen = strlen(key);
	const char *p = args, *end;
	char val[256];
	size_t n;

	out[0] = '\0';
	while (p && *p) {
		end = strchr(p, ';');
		n = end ? (size_t)(end - p) : strlen(p);
		if (n > klen && !strncmp(p, key, klen) && p[klen] == '=') {
			n -= klen + 1;
			if (n >= sizeof(val))
				n = sizeof(val) - 1;
			memcpy(val, p + klen + 1, n);
			val[n] = '\0';
			text_label(out, len, val);
			return;
		}
		p = end ? end + 1 : NULL;
	}
}

int cni_parse(const char *buf, size_t len, struct cni_req *r, bool need_version,
	      struct scb_error **err)
{
	const cJSON *v, *name;

	r->conf = cJSON_ParseWithLength(buf, len);
	if (!r->conf || !cJSON_IsObject(r->conf))
		return scb_error_set(err, SCB_ERR_DECODE,
				     "stdin is not a JSON object (the network configuration)");
	v = cJSON_GetObjectItemCaseSensitive(r->conf, "cniVersion");
	if (v && cJSON_IsString(v) && version_supported(v->valuestring))
		snprintf(cni_version, sizeof(cni_version), "%s", v->valuestring);
	if (need_version && (!cJSON_IsString(v) || !version_supported(v->valuestring)))
		return scb_error_set(err, 1, "incompatible CNI version %s (supported: 0.3.0 0.3.1 0.4.0 1.0.0 1.1.0)",
				     cJSON_IsString(v) ? v->valuestring : "(missing)");
	name = cJSON_GetObjectItemCaseSensitive(r->conf, "name");
	r->name = cJSON_IsString(name) ? name->valuestring : "";
	r->prev = cJSON_GetObjectItemCaseSensitive(r->conf, "prevResult");
	r->rc = cJSON_GetObjectItemCaseSensitive(r->conf, "runtimeConfig");
	if (r->rc && !cJSON_IsObject(r->rc))
		return scb_error_set(err, SCB_ERR_CONFIG, "runtimeConfig must be an object");
	return 0;
}

bool cni_attachment_valid(const cJSON *keep, const char *id,
				 const struct scb_attachment *att)
{
	const cJSON *a, *cid, *ifn;

	cJSON_ArrayForEach(a, keep) {
		cid = cJSON_GetObjectItemCaseSensitive(a, "containerID");
		ifn = cJSON_GetObjectItemCaseSensitive(a, "ifname");
		if (cJSON_IsString(cid) && !strcmp(cid->valuestring, id) &&
		    (!cJSON_IsString(ifn) || !strcmp(ifn->valuestring, att->ifname)))
			return true;
	}
	return false;
}

static const cJSON *pod_annotations(const struct cni_req *r, struct scb_error **err)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(r->rc, CNI_POD_ANNOTATIONS);

	if (a && !cJSON_IsObject(a) && !cJSON_IsNull(a)) {
		scb_error_set(err, SCB_ERR_CONFIG, "runtimeConfig.%s must be an object",
			      CNI_POD_ANNOTATIONS);
		return NULL;
	}
	return cJSON_IsObject(a) ? a : NULL;
}

int cni_resolve(struct cni_req *r, struct scb_request *q, struct scb_error **err)
{
	const cJSON *ann;

	if (config_from_json(r->conf, &r->cfg, err))
		return -1;
	ann = pod_annotations(r, err);
	if (*err)
		return -1;
	return config_resolve(&r->cfg, ann, q, err);
}

void cni_req_free(struct cni_req *r)
{
	cJSON_Delete(r->conf);
	r->conf = NULL;
}

int cni_version_rank(const char *v)
{
	int i;

	for (i = 0; cni_versions[i]; i++)
		if (!strcmp(cni_versions[i], v))
			return i;
	return -1;
}
