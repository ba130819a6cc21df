// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "ocistate.h"
#include "readall.h"
#include "text.h"

int oci_state_parse(const char *text, size_t len, struct oci_state *st,
		    struct scb_error **err)
{
	const cJSON *id, *pid;
	char esc[96];

	memset(st, 0, sizeof(*st));
	st->has_nul = memmem(text, len, "\\u0000", 6) || memchr(text, 0, len);
	st->root = cJSON_ParseWithLength(text, len);
	if (!st->root || !cJSON_IsObject(st->root)) {
		oci_state_free(st);
		return scb_error_set(err, SCB_ERR_DECODE,
				     "the OCI state on stdin is not a JSON object (is this run as an OCI hook?)");
	}
	id = cJSON_GetObjectItemCaseSensitive(st->root, "id");
	if (!cJSON_IsString(id)) {
		oci_state_free(st);
		return scb_error_set(err, SCB_ERR_DECODE, "the OCI state has no string \"id\"");
	}
	if (!text_valid_id(id->valuestring)) {
		scb_error_set(err, SCB_ERR_INPUT,
			      "container id \"%s\" is not 1-128 characters of [A-Za-z0-9_.-]",
			      text_escape(id->valuestring, esc, sizeof(esc)));
		oci_state_free(st);
		return -1;
	}
	st->id = id->valuestring;
	pid = cJSON_GetObjectItemCaseSensitive(st->root, "pid");
	if (pid && !cJSON_IsNumber(pid)) {
		oci_state_free(st);
		return scb_error_set(err, SCB_ERR_DECODE, "the OCI state's \"pid\" is not a number");
	}
	if (pid && (pid->valuedouble < 0 || pid->valuedouble > INT_MAX ||
		    pid->valuedouble != (double)(int)pid->valuedouble)) {
		oci_state_free(st);
		return scb_error_set(err, SCB_ERR_DECODE, "the OCI state's \"pid\" is out of range");
	}
	st->pid = pid ? (pid_t)pid->valuedouble : 0;
	st->annotations = cJSON_GetObjectItemCaseSensitive(st->root, "annotations");
	if (st->annotations && cJSON_IsNull(st->annotations))
		st->annotations = NULL;
	return 0;
}

int oci_state_read(FILE *in, struct oci_state *st, struct scb_error **err)
{
	size_t len;
	char *buf;
	int ret;

	if (read_all(in, OCI_STATE_MAX, &buf, &len))
		return errno == EFBIG ?
		       scb_error_set(err, SCB_ERR_DECODE, "the OCI state on stdin is over %d MiB",
				     OCI_STATE_MAX >> 20) :
		       scb_error_set(err, SCB_ERR_DECODE, "cannot read the OCI state: %s",
				     strerror(errno));
	ret = oci_state_parse(buf, len, st, err);
	free(buf);
	return ret;
}

void oci_state_free(struct oci_state *st)
{
	cJSON_Delete(st->root);
	st->root = NULL;
}

static const char *first_annotation(const struct oci_state *st, const char *const *keys)
{
	const cJSON *v;

	for (; *keys; keys++) {
		v = cJSON_GetObjectItemCaseSensitive(st->annotations, *keys);
		if (cJSON_IsString(v) && v->valuestring[0])
			return v->valuestring;
	}
	return NULL;
}

#define STORAGE_INDEX_MAX (64 << 20)

static char *slurp_file(const char *path, size_t max)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len;

	if (!f)
		return NULL;
	if (read_all(f, max, &buf, &len))
		buf = NULL;
	fclose(f);
	return buf;
}

/* The index entry of container id, parsed alone: the index holds every
 * container of the host and parsing it all costs ms per hook. */
static cJSON *index_entry(const char *text, const char *id)
{
	char needle[SCB_ID_LEN + 16];
	const char *at, *start;
	const cJSON *got;
	cJSON *entry;

	/* containers/storage writes an array of objects. */
	text += strspn(text, " \t\r\n");
	if (*text != '[')
		return NULL;
	snprintf(needle, sizeof(needle), "\"id\":\"%s\"", id);
	at = strstr(text, needle);
	if (!at)
		return NULL;
	for (start = at; start > text && *start != '{'; start--)
		;
	entry = cJSON_ParseWithOpts(start, NULL, 0);
	got = cJSON_GetObjectItemCaseSensitive(entry, "id");
	if (!cJSON_IsString(got) || strcmp(got->valuestring, id)) {
		cJSON_Delete(entry);
		return NULL;
	}
	return entry;
}

/* podman puts no name in the state: containers/storage's index beside
 * the bundle (<graphroot>/overlay-containers/<id>/userdata) has it. */
static void podman_name(const struct oci_state *st, char *name)
{
	const cJSON *bundle = cJSON_GetObjectItemCaseSensitive(st->root, "bundle");
	char suffix[SCB_ID_LEN + 16], path[PATH_MAX], *text;
	const cJSON *names;
	size_t blen, slen;
	cJSON *entry;

	if (!cJSON_IsString(bundle))
		return;
	snprintf(suffix, sizeof(suffix), "/%s/userdata", st->id);
	blen = strlen(bundle->valuestring);
	slen = strlen(suffix);
	if (blen <= slen || strcmp(bundle->valuestring + blen - slen, suffix) ||
	    blen - slen + sizeof("/containers.json") > sizeof(path))
		return;
	snprintf(path, sizeof(path), "%.*s/containers.json", (int)(blen - slen),
		 bundle->valuestring);
	text = slurp_file(path, STORAGE_INDEX_MAX);
	if (!text)
		return;
	entry = index_entry(text, st->id);
	names = cJSON_GetObjectItemCaseSensitive(entry, "names");
	if (cJSON_IsArray(names) && cJSON_IsString(cJSON_GetArrayItem(names, 0)))
		text_label(name, SCB_NAME_LEN, cJSON_GetArrayItem(names, 0)->valuestring);
	cJSON_Delete(entry);
	free(text);
}

void oci_state_names(const struct oci_state *st, char *name, char *pod_ns, char *pod_name)
{
	static const char *const name_keys[] = {
		"io.kubernetes.container.name",		/* CRI-O */
		"io.kubernetes.cri.container-name",	/* containerd */
		NULL,
	};
	static const char *const ns_keys[] = {
		"io.kubernetes.pod.namespace", "io.kubernetes.cri.sandbox-namespace", NULL,
	};
	static const char *const pod_keys[] = {
		"io.kubernetes.pod.name", "io.kubernetes.cri.sandbox-name", NULL,
	};

	text_label(name, SCB_NAME_LEN, first_annotation(st, name_keys));
	text_label(pod_ns, SCB_NAME_LEN, first_annotation(st, ns_keys));
	text_label(pod_name, SCB_NAME_LEN, first_annotation(st, pod_keys));
	if (!name[0])
		podman_name(st, name);
}
