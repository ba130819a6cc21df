// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "identity.h"
#include "text.h"

static const char *const identity_keys[] = {
	"enabled", "kind", "experimentId", "node", "nodeName", "maxPeersPerTarget",
	"peerSeries", NULL,
};

void identity_defaults(struct scb_identity_config *ic)
{
	memset(ic, 0, sizeof(*ic));
	ic->peer_series = true;
	ic->kind = SCB_ID_DEFAULT_KIND;
	ic->exid = SCB_ID_DEFAULT_EXID;
	ic->max_peers = SCB_ID_DEFAULT_PEERS;
}

uint32_t identity_node_hash(const char *name)
{
	uint32_t h = 2166136261U;

	for (; *name; name++)
		h = (h ^ (uint8_t)*name) * 16777619U;
	return h ? h : 1;
}

static bool known_key(const char *key)
{
	const char *const *k;

	for (k = identity_keys; *k; k++)
		if (!strcmp(key, *k))
			return true;
	return false;
}

/* An integer member in [min, max]; absent leaves *out. */
static int get_uint(const cJSON *obj, const char *key, double min, double max, uint32_t *out,
		    struct scb_error **err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!v)
		return 0;
	if (!cJSON_IsNumber(v) || v->valuedouble != (double)(long long)v->valuedouble ||
	    v->valuedouble < min || v->valuedouble > max)
		return scb_error_set(err, SCB_ERR_CONFIG, "identity.%s must be an integer from %.0f to %.0f",
				     key, min, max);
	*out = (uint32_t)v->valuedouble;
	return 0;
}

static int get_bool(const cJSON *obj, const char *key, bool *out, struct scb_error **err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!v)
		return 0;
	if (!cJSON_IsBool(v))
		return scb_error_set(err, SCB_ERR_CONFIG, "identity.%s must be true or false", key);
	*out = cJSON_IsTrue(v);
	return 0;
}

static int check_identity_keys(const cJSON *obj, struct scb_error **err)
{
	const cJSON *a, *b;
	char esc[96];

	cJSON_ArrayForEach(a, obj) {
		if (!known_key(a->string))
			return scb_error_set(err, SCB_ERR_CONFIG,
					     "unknown key \"%s\" in identity (known: enabled kind experimentId node nodeName maxPeersPerTarget peerSeries)",
					     text_escape(a->string, esc, sizeof(esc)));
		for (b = a->next; b; b = b->next)
			if (!strcmp(a->string, b->string))
				return scb_error_set(err, SCB_ERR_CONFIG,
						     "duplicate key \"%s\" in identity",
						     text_escape(a->string, esc, sizeof(esc)));
	}
	return 0;
}

/* nodeName: printable, as it becomes a Prometheus label value. */
static int get_node_name(const cJSON *obj, struct scb_identity_config *ic,
			 struct scb_error **err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "nodeName");
	const char *p;

	if (!v) {
		if (gethostname(ic->node_name, sizeof(ic->node_name) - 1))
			snprintf(ic->node_name, sizeof(ic->node_name), "unknown");
		return 0;
	}
	if (!cJSON_IsString(v) || !*v->valuestring || strlen(v->valuestring) >= sizeof(ic->node_name))
		return scb_error_set(err, SCB_ERR_CONFIG,
				     "identity.nodeName must be a string of 1 to %zu characters",
				     sizeof(ic->node_name) - 1);
	for (p = v->valuestring; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return scb_error_set(err, SCB_ERR_CONFIG,
					     "identity.nodeName has a control character");
	snprintf(ic->node_name, sizeof(ic->node_name), "%s", v->valuestring);
	return 0;
}

int identity_parse(const cJSON *v, struct scb_identity_config *ic, struct scb_error **err)
{
	uint32_t kind = ic->kind, exid = ic->exid;

	if (!cJSON_IsObject(v))
		return scb_error_set(err, SCB_ERR_CONFIG, "identity must be a JSON object");
	if (check_identity_keys(v, err) || get_bool(v, "enabled", &ic->enabled, err) ||
	    get_bool(v, "peerSeries", &ic->peer_series, err) ||
	    get_uint(v, "kind", 253, 254, &kind, err) ||
	    get_uint(v, "experimentId", 0, 65535, &exid, err) ||
	    get_uint(v, "node", 1, 4294967295.0, &ic->node, err) ||
	    get_uint(v, "maxPeersPerTarget", 1, SCB_MAX_PEERS, &ic->max_peers, err) ||
	    get_node_name(v, ic, err))
		return -1;
	ic->kind = kind;
	ic->exid = exid;
	if (!ic->node)
		ic->node = identity_node_hash(ic->node_name);
	return 0;
}

void identity_for(const struct scb_identity_config *ic, uint32_t flags, struct scb_identity *out)
{
	memset(out, 0, sizeof(*out));
	if (!ic->enabled)
		return;
	if (flags & SCB_FLAG_WRITE_HDR_OPT)
		out->mode |= SCB_ID_ANNOUNCE;
	if (flags & (SCB_FLAG_PARSE_ALL_HDR_OPT | SCB_FLAG_PARSE_UNKNOWN_HDR_OPT))
		out->mode |= SCB_ID_LEARN;
	if (out->mode && !ic->peer_series)
		out->mode |= SCB_ID_NO_SERIES;
	out->node = ic->node;
	out->kind = ic->kind;
	out->exid = ic->exid;
	out->max_peers = ic->max_peers;
	snprintf(out->node_name, sizeof(out->node_name), "%s", ic->node_name);
}

const char *identity_format(uint32_t node, uint32_t pod, char *buf, size_t len)
{
	if (!node && !pod)
		snprintf(buf, len, "?");
	else
		snprintf(buf, len, "%08x:%08x", node, pod);
	return buf;
}
