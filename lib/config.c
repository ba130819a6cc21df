// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "config.h"
#include "readall.h"
#include "flagnames.h"
#include "text.h"

#define CONFIG_MAX_BYTES (1 << 20)
#define CONFIG_MAX_KEYS 64	/* ours and CNI's are fewer than 20 */

/* Keys a CNI runtime puts in a conflist entry, accepted and ignored here. */
static const char *const cni_keys[] = {
	"cniVersion", "name", "type", "prevResult", "runtimeConfig",
	"capabilities", "args", "ipam", "dns", "cniVersions", NULL,
};
static const char *const our_keys[] = {
	"flagSets", "defaultFlagSet", "maxFlags", "onError", "retainStats", "identity", NULL,
};

void config_defaults(struct scb_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->default_set = -1;
	/* Header-option callbacks run per packet: opt-in by the admin. */
	cfg->max_flags = SCB_FLAG_RTO | SCB_FLAG_RETRANS | SCB_FLAG_STATE | SCB_FLAG_RTT;
	cfg->on_error = SCB_ON_ERROR_FAIL;
	identity_defaults(&cfg->identity);
}

static bool in_list(const char *key, const char *const *list)
{
	/* Keys the CNI spec reserves for runtimes (cni.dev/valid-attachments). */
	if (list == cni_keys && !strncmp(key, "cni.dev/", 8))
		return true;
	for (; *list; list++)
		if (!strcmp(key, *list))
			return true;
	return false;
}

/* cJSON keeps duplicate keys and returns the first: refuse them so an
 * admin's typo cannot silently pick the wrong value. */
static int check_keys(const cJSON *obj, const char *where, bool top,
		      struct scb_error **err)
{
	const cJSON *a, *b;
	char esc[96];

	cJSON_ArrayForEach(a, obj) {
		if (!a->string)
			continue;
		for (b = a->next; b; b = b->next)
			if (b->string && !strcmp(a->string, b->string))
				return scb_error_set(err, SCB_ERR_CONFIG,
						     "duplicate key \"%s\" in %s",
						     text_escape(a->string, esc, sizeof(esc)), where);
		if (top && !in_list(a->string, our_keys) && !in_list(a->string, cni_keys))
			return scb_error_set(err, SCB_ERR_CONFIG,
					     "unknown key \"%s\" in config (known: flagSets defaultFlagSet maxFlags onError retainStats identity)",
					     text_escape(a->string, esc, sizeof(esc)));
	}
	return 0;
}

static int parse_sets(const cJSON *sets, struct scb_config *cfg, struct scb_error **err)
{
	const cJSON *it;
	char what[64], esc[96];

	if (!cJSON_IsObject(sets))
		return scb_error_set(err, SCB_ERR_CONFIG,
				     "flagSets must be an object of name -> [flags]");
	/* Count first: the duplicate scan is quadratic. */
	if (cJSON_GetArraySize(sets) > SCB_MAX_FLAG_SETS)
		return scb_error_set(err, SCB_ERR_CONFIG,
				     "flagSets has %d sets (max %d)",
				     cJSON_GetArraySize(sets), SCB_MAX_FLAG_SETS);
	if (check_keys(sets, "flagSets", false, err))
		return -1;
	cJSON_ArrayForEach(it, sets) {
		struct scb_flag_set *s = &cfg->sets[cfg->n_sets];

		if (!text_valid_set_name(it->string))
			return scb_error_set(err, SCB_ERR_CONFIG,
					     "flag set name \"%s\" must be 1-31 characters of [A-Za-z0-9_.-]",
					     text_escape(it->string, esc, sizeof(esc)));
		snprintf(what, sizeof(what), "flagSets.%s", it->string);
		if (flags_parse_json(it, what, &s->mask, err))
			return -1;
		snprintf(s->name, sizeof(s->name), "%s", it->string);
		cfg->n_sets++;
	}
	return 0;
}

static int parse_default(const cJSON *def, struct scb_config *cfg, struct scb_error **err)
{
	const struct scb_flag_set *s;
	char esc[96];

	if (!def || cJSON_IsNull(def))
		return 0;
	if (!cJSON_IsString(def))
		return scb_error_set(err, SCB_ERR_CONFIG,
				     "defaultFlagSet must be a flag set name or null");
	s = config_find_set(cfg, def->valuestring);
	if (!s)
		return scb_error_set(err, SCB_ERR_CONFIG,
				     "defaultFlagSet \"%s\" is not in flagSets",
				     text_escape(def->valuestring, esc, sizeof(esc)));
	cfg->default_set = s - cfg->sets;
	return 0;
}

static int parse_on_error(const cJSON *v, struct scb_config *cfg, struct scb_error **err)
{
	if (!v)
		return 0;
	if (cJSON_IsString(v) && !strcmp(v->valuestring, "fail"))
		cfg->on_error = SCB_ON_ERROR_FAIL;
	else if (cJSON_IsString(v) && !strcmp(v->valuestring, "ignore"))
		cfg->on_error = SCB_ON_ERROR_IGNORE;
	else
		return scb_error_set(err, SCB_ERR_CONFIG,
				     "onError must be \"fail\" or \"ignore\"");
	return 0;
}

/* A set above the ceiling is an admin contradiction: say so at load. */
static int check_ceiling(const struct scb_config *cfg, struct scb_error **err)
{
	char over[128];
	int i;

	for (i = 0; i < cfg->n_sets; i++) {
		uint32_t extra = cfg->sets[i].mask & ~cfg->max_flags;

		if (extra)
			return scb_error_set(err, SCB_ERR_CONFIG,
					     "flagSets.%s asks for %s, above maxFlags; add them to maxFlags or remove them from the set",
					     cfg->sets[i].name, flags_format(extra, over, sizeof(over)));
	}
	return 0;
}

int config_from_json(const cJSON *obj, struct scb_config *cfg, struct scb_error **err)
{
	const cJSON *v;

	config_defaults(cfg);
	if (!cJSON_IsObject(obj))
		return scb_error_set(err, SCB_ERR_CONFIG, "config must be a JSON object");
	if (cJSON_GetArraySize(obj) > CONFIG_MAX_KEYS)
		return scb_error_set(err, SCB_ERR_CONFIG, "config has %d keys (max %d)",
				     cJSON_GetArraySize(obj), CONFIG_MAX_KEYS);
	if (check_keys(obj, "config", true, err))
		return -1;
	v = cJSON_GetObjectItemCaseSensitive(obj, "flagSets");
	if (v && parse_sets(v, cfg, err))
		return -1;
	v = cJSON_GetObjectItemCaseSensitive(obj, "maxFlags");
	if (v && flags_parse_json(v, "maxFlags", &cfg->max_flags, err))
		return -1;
	if (parse_default(cJSON_GetObjectItemCaseSensitive(obj, "defaultFlagSet"), cfg, err))
		return -1;
	if (parse_on_error(cJSON_GetObjectItemCaseSensitive(obj, "onError"), cfg, err))
		return -1;
	v = cJSON_GetObjectItemCaseSensitive(obj, "retainStats");
	if (v && !cJSON_IsBool(v))
		return scb_error_set(err, SCB_ERR_CONFIG, "retainStats must be true or false");
	cfg->retain_stats = v && cJSON_IsTrue(v);
	v = cJSON_GetObjectItemCaseSensitive(obj, "identity");
	if (v && identity_parse(v, &cfg->identity, err))
		return -1;
	return check_ceiling(cfg, err);
}

int config_parse(const char *text, size_t len, struct scb_config *cfg,
		 struct scb_error **err)
{
	const char *end = NULL;
	cJSON *obj;
	int ret;

	obj = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (!obj)
		return scb_error_set(err, SCB_ERR_DECODE,
				     "config is not valid JSON (near byte %ld)",
				     end ? (long)(end - text) : 0L);
	/* One object, nothing after it but white space. */
	while (end && end < text + len && (*end == ' ' || *end == '\t' || *end == '\n' ||
					   *end == '\r'))
		end++;
	if (end && end < text + len && *end) {
		cJSON_Delete(obj);
		return scb_error_set(err, SCB_ERR_DECODE,
				     "config is not valid JSON: data after the object at byte %ld",
				     (long)(end - text));
	}
	ret = config_from_json(obj, cfg, err);
	cJSON_Delete(obj);
	return ret;
}

static int read_file(const char *path, char **buf, size_t *len, struct scb_error **err)
{
	FILE *f = fopen(path, "re");
	int ret;

	if (!f)
		return scb_error_set(err, SCB_ERR_CONFIG, "cannot open config %s: %s",
				     path, strerror(errno));
	ret = read_all(f, CONFIG_MAX_BYTES, buf, len);
	if (ret && errno == EFBIG)
		scb_error_set(err, SCB_ERR_CONFIG, "config %s is over 1 MiB", path);
	else if (ret)
		scb_error_set(err, SCB_ERR_CONFIG, "cannot read config %s: %s", path,
			      strerror(errno));
	fclose(f);
	return ret;
}

int config_load(const char *path, struct scb_config *cfg, struct scb_error **err)
{
	size_t len = 0;
	char *buf = NULL;
	int ret;

	if (!path) {
		FILE *f = fopen(SCB_DEFAULT_CONFIG, "re");

		if (!f && errno == ENOENT) {
			config_defaults(cfg);
			return 0;
		}
		if (f)
			fclose(f);
		path = SCB_DEFAULT_CONFIG;
	}
	if (read_file(path, &buf, &len, err))
		return -1;
	ret = config_parse(buf, len, cfg, err);
	free(buf);
	if (ret)
		scb_error_wrap(err, "config %s", path);
	return ret;
}

const struct scb_flag_set *config_find_set(const struct scb_config *cfg, const char *name)
{
	int i;

	for (i = 0; i < cfg->n_sets; i++)
		if (!strcmp(cfg->sets[i].name, name))
			return &cfg->sets[i];
	return NULL;
}

static void known_sets(const struct scb_config *cfg, char *buf, size_t len)
{
	size_t off = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < cfg->n_sets && off < len; i++)
		off += snprintf(buf + off, len - off, "%s%s", i ? " " : "", cfg->sets[i].name);
	if (!cfg->n_sets)
		snprintf(buf, len, "none configured");
}

static int request_set(const struct scb_config *cfg, const char *name,
		       const char *what, struct scb_request *req, struct scb_error **err)
{
	const struct scb_flag_set *s = config_find_set(cfg, name);
	char esc[96], sets[512];

	if (!s) {
		known_sets(cfg, sets, sizeof(sets));
		return scb_error_set(err, SCB_ERR_INPUT, "%s names unknown flag set \"%s\" (known: %s)",
				     what, text_escape(name, esc, sizeof(esc)), sets);
	}
	req->requested = s->mask;
	snprintf(req->flag_set, sizeof(req->flag_set), "%s", s->name);
	return 0;
}

static void request_default(const struct scb_config *cfg, struct scb_request *req)
{
	req->requested = cfg->sets[cfg->default_set].mask;
	snprintf(req->flag_set, sizeof(req->flag_set), "%s", cfg->sets[cfg->default_set].name);
}

static void finish(const struct scb_config *cfg, struct scb_request *req)
{
	req->traced = true;
	req->effective = req->requested & cfg->max_flags;
	identity_for(&cfg->identity, req->effective, &req->identity);
}

int config_request(const struct scb_config *cfg, const char *flags, const char *set,
		   struct scb_request *req, struct scb_error **err)
{
	memset(req, 0, sizeof(*req));
	if (flags && set)
		return scb_error_set(err, SCB_ERR_INPUT, "give --flags or --flag-set, not both");
	if (set) {
		if (request_set(cfg, set, "--flag-set", req, err))
			return -1;
	} else if (flags) {
		if (flags_parse_list(flags, "--flags", &req->requested, err))
			return -1;
	} else if (cfg->default_set >= 0) {
		request_default(cfg, req);
	} else {
		return scb_error_set(err, SCB_ERR_INPUT,
				     "no --flags or --flag-set and the config has no defaultFlagSet");
	}
	finish(cfg, req);
	return 0;
}

/* Annotation value: a string of at most SCB_ANNOTATION_MAX bytes. */
static int annotation(const cJSON *annotations, const char *key, const char **val,
		      struct scb_error **err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(annotations, key);
	size_t n;

	*val = NULL;
	if (!v)
		return 0;
	if (!cJSON_IsString(v))
		return scb_error_set(err, SCB_ERR_INPUT, "annotation %s must be a string", key);
	n = strlen(v->valuestring);
	if (n > SCB_ANNOTATION_MAX)
		return scb_error_set(err, SCB_ERR_INPUT,
				     "annotation %s is %zu bytes (max %d)", key, n,
				     SCB_ANNOTATION_MAX);
	*val = v->valuestring;
	return 0;
}

int config_resolve(const struct scb_config *cfg, const cJSON *annotations,
		   struct scb_request *req, struct scb_error **err)
{
	const char *set = NULL, *flags = NULL;

	memset(req, 0, sizeof(*req));
	if (annotations && !cJSON_IsObject(annotations))
		return scb_error_set(err, SCB_ERR_INPUT, "annotations must be a JSON object");
	if (annotations && (annotation(annotations, SCB_ANN_FLAG_SET, &set, err) ||
			    annotation(annotations, SCB_ANN_FLAGS, &flags, err)))
		return -1;
	if (set && flags)
		return scb_error_set(err, SCB_ERR_INPUT,
				     "annotations %s and %s are both set; use one",
				     SCB_ANN_FLAG_SET, SCB_ANN_FLAGS);
	if (set) {
		if (request_set(cfg, set, "annotation " SCB_ANN_FLAG_SET, req, err))
			return -1;
	} else if (flags) {
		if (flags_parse_list(flags, "annotation " SCB_ANN_FLAGS, &req->requested, err))
			return -1;
	} else if (cfg->default_set >= 0) {
		request_default(cfg, req);
	} else {
		return 0;	/* not annotated, no default: not traced */
	}
	finish(cfg, req);
	return 0;
}

bool config_runs_untraced(const struct scb_config *cfg, const struct scb_error *err)
{
	return cfg->on_error == SCB_ON_ERROR_IGNORE || (err && err->code == SCB_ERR_UNSUPPORTED);
}

const char *config_why_untraced(const struct scb_config *cfg, const struct scb_error *err)
{
	return err && err->code == SCB_ERR_UNSUPPORTED ? " (this kernel lacks a feature)"
						       : " (onError=ignore)";
}
