/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A tiny TAP runner in the style of crun's tests/tests_libcrun_errors.c:
 * each case is `static int test_x(void)` returning 0 (pass), -1 (fail) or
 * 77 (skip); RUN_TEST(test_x) prints its result line and tap_done()
 * prints the plan last ("1..N", which TAP allows) and gives the exit
 * status: 1 if any case failed.
 *
 * Test programs link every plugin object but main.o (the Makefile's
 * test/unit/%.t rule); what the objects share lives in output.c. */
#ifndef __SCB_TAP_H
#define __SCB_TAP_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "error.h"

#define TAP_SKIP 77

static int tap_count, tap_failed;

static void tap_run(const char *name, int (*fn)(void))
{
	int ret;

	fflush(stdout);
	ret = fn();
	tap_count++;
	if (ret == 0) {
		printf("ok %d - %s\n", tap_count, name);
	} else if (ret == TAP_SKIP) {
		printf("ok %d - %s # SKIP\n", tap_count, name);
	} else {
		printf("not ok %d - %s\n", tap_count, name);
		tap_failed++;
	}
	fflush(stdout);
}

#define RUN_TEST(fn) tap_run(#fn, fn)

static inline int tap_done(void)
{
	printf("1..%d\n", tap_count);
	return tap_failed ? 1 : 0;
}

/* Show an untrusted string on one diagnostic line: C escapes (\\, \xNN)
 * for what is not printable ASCII (not text_escape: that is under test). */
static inline const char *tap_show(const char *s)
{
	static char bufs[4][600];
	static int next;
	char *b = bufs[next++ % 4];
	size_t o = 0;

	if (!s)
		return "(null)";
	for (; *s && o < sizeof(bufs[0]) - 8; s++) {
		unsigned char c = *s;

		if (c == '\\')
			o += sprintf(b + o, "\\\\");
		else if (c >= 0x20 && c < 0x7f)
			b[o++] = c;
		else
			o += sprintf(b + o, "\\x%02x", c);
	}
	strcpy(b + o, *s ? "..." : "");
	return b;
}

/* Diagnostics: a "# " line with where and what was seen, then fail. */
#define tap_diag(fmt, ...) printf("# %s:%d: " fmt "\n", __FILE__, __LINE__, ##__VA_ARGS__)

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			tap_diag("check failed: %s", #cond);                   \
			return -1;                                             \
		}                                                              \
	} while (0)

#define CHECK_INT(actual, expected)                                            \
	do {                                                                   \
		long long tap_a_ = (long long)(actual);                        \
		long long tap_e_ = (long long)(expected);                      \
		if (tap_a_ != tap_e_) {                                        \
			tap_diag("%s is %lld (0x%llx), expected %lld (0x%llx)", \
				 #actual, tap_a_, tap_a_, tap_e_, tap_e_);     \
			return -1;                                             \
		}                                                              \
	} while (0)

#define CHECK_STR(actual, expected)                                            \
	do {                                                                   \
		const char *tap_a_ = (actual), *tap_e_ = (expected);           \
		if (!tap_a_ || strcmp(tap_a_, tap_e_)) {                       \
			tap_diag("%s is \"%s\", expected \"%s\"", #actual,     \
				 tap_show(tap_a_), tap_show(tap_e_));          \
			return -1;                                             \
		}                                                              \
	} while (0)

#define CHECK_CONTAINS(actual, needle)                                         \
	do {                                                                   \
		const char *tap_a_ = (actual), *tap_n_ = (needle);             \
		if (!tap_a_ || !strstr(tap_a_, tap_n_)) {                      \
			tap_diag("%s is \"%s\", expected it to contain \"%s\"", \
				 #actual, tap_show(tap_a_), tap_show(tap_n_)); \
			return -1;                                             \
		}                                                              \
	} while (0)

/* A call that must fail with *err set to `code`; the error stays in err
 * so the caller can check the message, then free it. */
#define CHECK_ERR(call, err, expected_code)                                    \
	do {                                                                   \
		int tap_r_ = (call);                                           \
		if (tap_r_ >= 0 || !(err)) {                                   \
			tap_diag("%s returned %d without an error, expected code %d", \
				 #call, tap_r_, (int)(expected_code));         \
			scb_error_free(&(err));                                \
			return -1;                                             \
		}                                                              \
		if ((err)->code != (expected_code) || !(err)->msg) {           \
			tap_diag("%s: code %d \"%s\", expected code %d", #call, \
				 (err)->code, tap_show((err)->msg),            \
				 (int)(expected_code));                        \
			scb_error_free(&(err));                                \
			return -1;                                             \
		}                                                              \
	} while (0)

/* A call that must succeed; on failure show the error message. */
#define CHECK_OK(call, err)                                                    \
	do {                                                                   \
		int tap_r_ = (call);                                           \
		if (tap_r_ < 0 || (err)) {                                     \
			tap_diag("%s returned %d: %s", #call, tap_r_,          \
				 (err) ? tap_show((err)->msg) : "(no error)"); \
			scb_error_free(&(err));                                \
			return -1;                                             \
		}                                                              \
	} while (0)

#endif
