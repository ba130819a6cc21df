// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* libFuzzer: CNI stdin (network config, prevResult, runtimeConfig with
 * pod annotations) and CNI_ARGS. */
#include <stdlib.h>
#include <string.h>
#include "cni.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scb_error *err = NULL;
	struct cni_req r = { 0 };
	struct scb_request q;
	char out[SCB_NAME_LEN];
	char *args;

	if (!cni_parse((const char *)data, size, &r, true, &err))
		cni_resolve(&r, &q, &err);
	scb_error_free(&err);
	cni_req_free(&r);
	args = strndup((const char *)data, size);
	cni_arg(args, "K8S_POD_NAME", out, sizeof(out));
	free(args);
	return 0;
}
