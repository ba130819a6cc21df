// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "error.h"

int scb_error_set(struct scb_error **err, int code, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (!err)
		return -1;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	scb_error_free(err);
	*err = calloc(1, sizeof(**err));
	if (!*err) {
		free(msg);
		return -1;
	}
	(*err)->code = code;
	(*err)->msg = msg;
	return -1;
}

/* Prefix the message with what the caller was doing: "attach abc: ..." */
int scb_error_wrap(struct scb_error **err, const char *fmt, ...)
{
	char *ctx, *msg;
	va_list ap;
	int n;

	if (!err || !*err)
		return -1;
	va_start(ap, fmt);
	n = vasprintf(&ctx, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if (asprintf(&msg, "%s: %s", ctx, (*err)->msg ? (*err)->msg : "") >= 0) {
		free((*err)->msg);
		(*err)->msg = msg;
	}
	free(ctx);
	return -1;
}

void scb_error_free(struct scb_error **err)
{
	if (!err || !*err)
		return;
	free((*err)->msg);
	free(*err);
	*err = NULL;
}
