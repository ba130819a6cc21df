// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* libFuzzer: the admin config parser. */
#include <stddef.h>
#include <stdint.h>
#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct scb_config cfg;
	struct scb_error *err = NULL;

	config_parse((const char *)data, size, &cfg, &err);
	scb_error_free(&err);
	return 0;
}
