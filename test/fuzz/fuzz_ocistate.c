// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* libFuzzer: the OCI state a hook reads on stdin. */
#include <stddef.h>
#include <stdint.h>
#include "ocistate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[SCB_NAME_LEN], ns[SCB_NAME_LEN], pod[SCB_NAME_LEN];
	struct scb_error *err = NULL;
	struct oci_state st;

	if (!oci_state_parse((const char *)data, size, &st, &err)) {
		oci_state_names(&st, name, ns, pod);
		oci_state_free(&st);
	}
	scb_error_free(&err);
	return 0;
}
