/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The admin's configuration (a JSON file for the hook, the conflist entry
 * for CNI) and the tenant's annotations resolved against it. */
#ifndef __SCB_CONFIG_H
#define __SCB_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include "error.h"
#include <linux/types.h>
#include "sockops.h"
#include "identity.h"

#define SCB_DEFAULT_CONFIG	"/etc/sockops-cb/config.json"
#define SCB_MAX_FLAG_SETS	256
#define SCB_ANNOTATION_MAX	256
#define SCB_ANN_FLAG_SET	"sockops-cb.io/flag-set"
#define SCB_ANN_FLAGS		"sockops-cb.io/flags"

struct cJSON;

struct scb_flag_set {
	char name[SCB_SET_LEN];
	uint32_t mask;
};

enum scb_on_error {
	SCB_ON_ERROR_FAIL,	/* the runtime stops the container */
	SCB_ON_ERROR_IGNORE,	/* warn and let it run untraced */
};

struct scb_config {
	struct scb_flag_set sets[SCB_MAX_FLAG_SETS];
	int n_sets;
	int default_set;	/* index in sets, -1: unannotated not traced */
	uint32_t max_flags;
	enum scb_on_error on_error;
	bool retain_stats;
	struct scb_identity_config identity;
};

/* What one container gets. */
struct scb_request {
	bool traced;
	uint32_t requested;	/* asked for, before the ceiling */
	uint32_t effective;	/* requested & maxFlags */
	char flag_set[SCB_SET_LEN];	/* set name, "" for explicit flags */
	struct scb_identity identity;	/* what the flags mean for identity */
};

void config_defaults(struct scb_config *cfg);
int config_from_json(const struct cJSON *obj, struct scb_config *cfg,
		     struct scb_error **err);
int config_parse(const char *text, size_t len, struct scb_config *cfg,
		 struct scb_error **err);
/* path NULL: the default path, or built-in defaults when it is absent. */
int config_load(const char *path, struct scb_config *cfg, struct scb_error **err);
const struct scb_flag_set *config_find_set(const struct scb_config *cfg,
					   const char *name);
/* annotations: a JSON object of string values, or NULL. */
int config_resolve(const struct scb_config *cfg, const struct cJSON *annotations,
		   struct scb_request *req, struct scb_error **err);
/* Explicit request (manual attach): flags list or set name. */
int config_request(const struct scb_config *cfg, const char *flags,
		   const char *set, struct scb_request *req, struct scb_error **err);

/* Whether a failed attach lets the container run untraced: onError
 * says so, or the kernel lacks a feature (never a failed container). */
bool config_runs_untraced(const struct scb_config *cfg, const struct scb_error *err);
/* The reason, appended to the warning. */
const char *config_why_untraced(const struct scb_config *cfg, const struct scb_error *err);

#endif
