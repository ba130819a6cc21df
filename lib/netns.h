/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Network namespace cookies: the key the program and user space share
 * for a pod registered by its netns (SO_NETNS_COOKIE ==
 * bpf_get_netns_cookie). */
#ifndef __SCB_NETNS_H
#define __SCB_NETNS_H

#include <stdint.h>
#include "error.h"

/* With cookie NULL, only checks that path is a network namespace. */
int netns_cookie(const char *path, uint64_t *cookie, struct scb_error **err);

#endif
