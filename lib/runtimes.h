/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Where the container runtimes on this host look for OCI hooks and CNI
 * networks, read from their own config files (containers.conf for
 * podman, crio.conf for CRI-O, config.toml for containerd) with their
 * documented defaults where a key is not set. For `sockops-cb check`. */
#ifndef __SCB_RUNTIMES_H
#define __SCB_RUNTIMES_H

#include <stdbool.h>

#define RT_MAX_DIRS	8
#define RT_PATH_LEN	512

struct runtime_dirs {
	const char *name;		/* "podman", "CRI-O", "containerd" */
	bool present;			/* its binary or a config file is here */
	bool has_hooks;			/* reads OCI hooks.d (not containerd) */
	bool uses_cni;			/* podman: network_backend is cni */
	char hooks[RT_MAX_DIRS][RT_PATH_LEN];
	int n_hooks;
	char netconf[RT_PATH_LEN];	/* CNI conflist directory */
	char plugins[RT_MAX_DIRS][RT_PATH_LEN];
	int n_plugins;
	char hooks_source[RT_PATH_LEN];	/* the file that set hooks_dir, or "default" */
};

enum runtime_id { RT_PODMAN, RT_CRIO, RT_CONTAINERD, RT_COUNT };

void runtime_dirs_read(enum runtime_id id, struct runtime_dirs *d);

/* The TOML subset runtimes' configs use for these keys: `key = "s"` or
 * `key = ["a", "b"]` (over several lines too) under `[table]`. Fills
 * out with the strings of table.key; returns how many, -1 if unset. */
int toml_strings(const char *text, const char *table, const char *key,
		 char out[][RT_PATH_LEN], int max);

#endif
