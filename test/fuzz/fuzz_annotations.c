// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* libFuzzer: tenant annotations resolved against a fixed config, both as
 * a JSON object and as raw annotation values. */
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "config.h"

static const char conf[] =
	"{\"flagSets\":{\"basic\":[\"STATE\"],\"full\":[\"STATE\",\"RTT\",\"RETRANS\",\"RTO\"]},"
	"\"defaultFlagSet\":\"basic\",\"maxFlags\":[\"STATE\",\"RTT\",\"RETRANS\",\"RTO\"]}";

static void resolve(const struct scb_config *cfg, const cJSON *ann)
{
	struct scb_error *err = NULL;
	struct scb_request req;

	config_resolve(cfg, ann, &req, &err);
	scb_error_free(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct scb_config cfg;
	static int loaded;
	struct scb_error *err = NULL;
	cJSON *ann;
	char *val;

	if (!loaded && config_parse(conf, sizeof(conf) - 1, &cfg, &err))
		abort();
	loaded = 1;
	ann = cJSON_ParseWithLength((const char *)data, size);
	resolve(&cfg, ann);
	cJSON_Delete(ann);
	val = strndup((const char *)data, size);
	ann = cJSON_CreateObject();
	cJSON_AddStringToObject(ann, size % 2 ? SCB_ANN_FLAGS : SCB_ANN_FLAG_SET, val);
	resolve(&cfg, ann);
	cJSON_Delete(ann);
	free(val);
	return 0;
}
