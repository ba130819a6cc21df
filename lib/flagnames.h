/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Names of the sock_ops callback flags and conversion to/from masks. */
#ifndef __SCB_FLAGNAMES_H
#define __SCB_FLAGNAMES_H

#include <stdint.h>
#include "error.h"

struct cJSON;

/* "RTO" -> 1; case-insensitive; 0 when unknown. */
uint32_t flag_by_name(const char *name);
/* List ("RTT,STATE", "RTT+STATE", "RTT STATE") -> mask. `what` names the source
 * for the error ("annotation sockops-cb.io/flags"). */
int flags_parse_list(const char *list, const char *what, uint32_t *mask,
		     struct scb_error **err);
/* JSON array of names -> mask. */
int flags_parse_json(const struct cJSON *arr, const char *what, uint32_t *mask,
		     struct scb_error **err);
/* mask -> "RTT,STATE" (or "-" for none); bits without a name print as 0x..  */
const char *flags_format(uint32_t mask, char *buf, size_t len);
/* mask -> JSON array of names. */
struct cJSON *flags_to_json(uint32_t mask);
/* The same array as JSON text, e.g. ["RTO","STATE"]: a few hundred
 * bytes at most (names and one hex number). */
const char *flags_json_text(uint32_t mask, char *buf, size_t len);
/* "RTO RETRANS STATE ..." for error messages. */
const char *flags_known_list(void);
/* One line on what the header-option flags in mask make the kernel do,
 * or NULL when it has none. */
const char *hdr_opt_note(uint32_t mask);
/* One letter per flag in bit order (O RTO, R RETRANS, S STATE, T RTT,
 * P PARSE_ALL_HDR_OPT, U PARSE_UNKNOWN_HDR_OPT, W WRITE_HDR_OPT), "-" for
 * none; buf holds 8 bytes. */
const char *flags_letters(uint32_t flags, char *buf);

#endif
