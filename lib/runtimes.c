// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "readall.h"
#include "runtimes.h"

#define CONF_MAX (1 << 20)

/* One line without its comment and surrounding blanks. */
static void clean_line(const char *in, size_t n, char *out, size_t len)
{
	char quote = 0;
	size_t o = 0, i;

	for (i = 0; i < n && o + 1 < len; i++) {
		if (!quote && in[i] == '#')
			break;
		if ((in[i] == '"' || in[i] == '\'') && (!quote || quote == in[i]))
			quote = quote ? 0 : in[i];
		out[o++] = in[i];
	}
	while (o && (out[o - 1] == ' ' || out[o - 1] == '\t' || out[o - 1] == '\r'))
		o--;
	out[o] = 0;
}

/* The quoted strings of value into out; returns how many. */
static int quoted_strings(const char *v, char out[][RT_PATH_LEN], int max)
{
	const char *end;
	int n = 0;

	while (n < max && (v = strpbrk(v, "\"'"))) {
		end = strchr(v + 1, *v);
		if (!end)
			break;
		snprintf(out[n++], RT_PATH_LEN, "%.*s", (int)(end - v - 1), v + 1);
		v = end + 1;
	}
	return n;
}

static bool is_key(const char *line, const char *key, const char **value)
{
	size_t k = strlen(key);

	line += strspn(line, " \t");
	if (strncmp(line, key, k))
		return false;
	line += k;
	line += strspn(line, " \t");
	if (*line != '=')
		return false;
	*value = line + 1 + strspn(line + 1, " \t");
	return true;
}

int toml_strings(const char *text, const char *table, const char *key,
		 char out[][RT_PATH_LEN], int max)
{
	char line[4096], cur[256] = "", value[16384];
	const char *p = text, *nl, *v;
	int found = -1;

	while (*p) {
		nl = strchr(p, '\n');
		clean_line(p, nl ? (size_t)(nl - p) : strlen(p), line, sizeof(line));
		p = nl ? nl + 1 : p + strlen(p);
		if (line[strspn(line, " \t")] == '[' && !strchr(line, '=')) {
			v = line + strspn(line, " \t[");
			snprintf(cur, sizeof(cur), "%.*s", (int)strcspn(v, "]"), v);
			continue;
		}
		if (strcmp(cur, table) || !is_key(line, key, &v))
			continue;
		snprintf(value, sizeof(value), "%s", v);
		/* An array may go on over the next lines until its ']'. */
		while (value[0] == '[' && !strchr(value, ']') && *p) {
			nl = strchr(p, '\n');
			clean_line(p, nl ? (size_t)(nl - p) : strlen(p), line, sizeof(line));
			p = nl ? nl + 1 : p + strlen(p);
			strncat(value, line, sizeof(value) - strlen(value) - 1);
		}
		found = quoted_strings(value, out, max);	/* the last one wins */
	}
	return found;
}

static bool in_path(const char *bin)
{
	const char *path = getenv("PATH");
	char dir[RT_PATH_LEN], file[RT_PATH_LEN * 2];
	size_t n;

	for (; path && *path; path += n + (path[n] == ':')) {
		n = strcspn(path, ":");
		snprintf(dir, sizeof(dir), "%.*s", (int)n, path);
		snprintf(file, sizeof(file), "%s/%s", dir, bin);
		if (!access(file, X_OK))
			return true;
	}
	return false;
}

static void set_list(char dst[][RT_PATH_LEN], int *n, const char *const *defaults)
{
	for (*n = 0; defaults[*n] && *n < RT_MAX_DIRS; (*n)++)
		snprintf(dst[*n], RT_PATH_LEN, "%s", defaults[*n]);
}

struct keys {
	const char *hooks_table, *hooks_key;
	const char *net_table, *netconf_key, *plugins_key;
};

/* Apply one config file: the keys it sets replace what was there. */
static void apply_file(struct runtime_dirs *d, const struct keys *k, const char *path)
{
	char one[1][RT_PATH_LEN];
	char *text;
	size_t len;
	int n;

	if (read_all_path(path, CONF_MAX, &text, &len))
		return;
	d->present = true;
	if (k->hooks_table && (n = toml_strings(text, k->hooks_table, k->hooks_key, d->hooks,
						RT_MAX_DIRS)) >= 0) {
		d->n_hooks = n;
		snprintf(d->hooks_source, sizeof(d->hooks_source), "hooks_dir in %s", path);
	}
	if (toml_strings(text, k->net_table, k->netconf_key, one, 1) == 1)
		snprintf(d->netconf, sizeof(d->netconf), "%s", one[0]);
	if ((n = toml_strings(text, k->net_table, k->plugins_key, d->plugins, RT_MAX_DIRS)) >= 0)
		d->n_plugins = n;
	if (d->name[0] == 'p' && toml_strings(text, "network", "network_backend", one, 1) == 1)
		d->uses_cni = !strcmp(one[0], "cni");
	free(text);
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* Drop-in files of dir ending in .conf, in name order. */
static void apply_dropins(struct runtime_dirs *d, const struct keys *k, const char *dir)
{
	struct dirent **names;
	char path[RT_PATH_LEN * 2];
	int n, i;
	size_t len;

	n = scandir(dir, &names, NULL, by_name);
	for (i = 0; i < n; i++) {
		len = strlen(names[i]->d_name);
		if (len > 5 && !strcmp(names[i]->d_name + len - 5, ".conf")) {
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
			apply_file(d, k, path);
		}
		free(names[i]);
	}
	if (n >= 0)
		free(names);
}

/* containers/common's defaults and files (podman 4). CONTAINERS_CONF,
 * when set, is the only file read. */
static void podman_dirs(struct runtime_dirs *d)
{
	static const char *const hooks[] = { "/usr/share/containers/oci/hooks.d", NULL };
	static const char *const plugins[] = { "/usr/local/libexec/cni", "/usr/libexec/cni",
					       "/usr/local/lib/cni", "/usr/lib/cni", "/opt/cni/bin",
					       NULL };
	static const struct keys k = { "engine", "hooks_dir", "network", "network_config_dir",
				       "cni_plugin_dirs" };
	const char *env = getenv("CONTAINERS_CONF");

	d->name = "podman";
	d->has_hooks = true;
	d->uses_cni = true;	/* podman 4.3's default backend where netavark is absent */
	set_list(d->hooks, &d->n_hooks, hooks);
	set_list(d->plugins, &d->n_plugins, plugins);
	snprintf(d->netconf, sizeof(d->netconf), "/etc/cni/net.d");
	if (!access("/usr/lib/podman/netavark", X_OK) || !access("/usr/libexec/podman/netavark", X_OK))
		d->uses_cni = false;
	if (env && *env) {
		apply_file(d, &k, env);
	} else {
		apply_file(d, &k, "/usr/share/containers/containers.conf");
		apply_file(d, &k, "/etc/containers/containers.conf");
		apply_dropins(d, &k, "/etc/containers/containers.conf.d");
	}
	d->present |= in_path("podman");
}

/* CRI-O: crio.conf and its drop-ins (CONTAINER_CONFIG and
 * CONTAINER_CONFIG_DIR, as crio's --config and --config-dir). */
static void crio_dirs(struct runtime_dirs *d)
{
	static const char *const hooks[] = { "/usr/share/containers/oci/hooks.d", NULL };
	static const char *const plugins[] = { "/opt/cni/bin", NULL };
	static const struct keys k = { "crio.runtime", "hooks_dir", "crio.network", "network_dir",
				       "plugin_dirs" };
	const char *file = getenv("CONTAINER_CONFIG"), *dir = getenv("CONTAINER_CONFIG_DIR");

	d->name = "CRI-O";
	d->has_hooks = true;
	d->uses_cni = true;
	set_list(d->hooks, &d->n_hooks, hooks);
	set_list(d->plugins, &d->n_plugins, plugins);
	snprintf(d->netconf, sizeof(d->netconf), "/etc/cni/net.d");
	apply_file(d, &k, file && *file ? file : "/etc/crio/crio.conf");
	apply_dropins(d, &k, dir && *dir ? dir : "/etc/crio/crio.conf.d");
	d->present |= in_path("crio");
}

/* containerd's CRI plugin: CNI only (OCI hooks come from its runtime). */
static void containerd_dirs(struct runtime_dirs *d)
{
	static const char *const plugins[] = { "/opt/cni/bin", NULL };
	static const struct keys k = { NULL, NULL, "plugins.\"io.containerd.grpc.v1.cri\".cni",
				       "conf_dir", "bin_dir" };

	d->name = "containerd";
	d->uses_cni = true;
	set_list(d->plugins, &d->n_plugins, plugins);
	snprintf(d->netconf, sizeof(d->netconf), "/etc/cni/net.d");
	apply_file(d, &k, "/etc/containerd/config.toml");
	d->present |= in_path("containerd");
}

void runtime_dirs_read(enum runtime_id id, struct runtime_dirs *d)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->hooks_source, sizeof(d->hooks_source), "its default");
	if (id == RT_PODMAN)
		podman_dirs(d);
	else if (id == RT_CRIO)
		crio_dirs(d);
	else
		containerd_dirs(d);
}
