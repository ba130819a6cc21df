/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Error objects in crun's style: a failing function fills *err and
 * returns a negative value; callers add context with scb_error_wrap(). */
#ifndef __SCB_ERROR_H
#define __SCB_ERROR_H

/* CNI error codes (SPEC.md) reused for every role; ours start at 100. */
enum scb_code {
	SCB_ERR_INTERNAL = 999,
	SCB_ERR_ENV = 4,	/* invalid environment variables */
	SCB_ERR_DECODE = 6,	/* failed to decode content */
	SCB_ERR_CONFIG = 7,	/* invalid network config */
	SCB_ERR_TRY_AGAIN = 11,
	SCB_ERR_INPUT = 100,	/* bad annotation, id or argument */
	SCB_ERR_KERNEL = 101,	/* BPF load/attach/pin failed */
	SCB_ERR_CGROUP = 102,	/* cgroup missing or unreadable */
	SCB_ERR_NOT_FOUND = 103,
	/* The kernel lacks a feature: the hook and CNI say so and let the
	 * container run, whatever onError says. */
	SCB_ERR_UNSUPPORTED = 104,
};

struct scb_error {
	int code;
	char *msg;
};

__attribute__((format(printf, 3, 4)))
int scb_error_set(struct scb_error **err, int code, const char *fmt, ...);
__attribute__((format(printf, 2, 3)))
int scb_error_wrap(struct scb_error **err, const char *fmt, ...);
void scb_error_free(struct scb_error **err);

#endif
