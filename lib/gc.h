/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What `gc` would remove, counted without removing or printing. */
#ifndef __SCB_GC_H
#define __SCB_GC_H

#include "loader.h"

int gc_leftovers(struct scb_node *n, int *count, struct scb_error **err);

#endif
