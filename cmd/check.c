// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* `sockops-cb check`: what an admin runs after installing and after each
 * config change. Every finding is ok, warn or error with one line saying
 * what to do; any error makes the exit status non-zero. It reads the
 * config the way the hook and CNI do, the runtimes' own configs for where
 * they look for hooks and networks, and the kernel and node state the
 * other commands depend on. */
#include <argp.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include <cjson/cJSON.h>
#include "cgroup.h"
#include "args.h"
#include "cmd.h"
#include "config.h"
#include "flagnames.h"
#include "gc.h"
#include "kfeatures.h"
#include "kflags.h"
#include "node.h"
#include "readall.h"
#include "runtimes.h"

#define HOOK_JSON_MAX	(64 * 1024)

enum level { LVL_OK, LVL_WARN, LVL_ERROR };

struct check_ctx {
	bool json;
	const char *config;		/* --config, else what the hooks pass */
	char hook_config[RT_PATH_LEN];
	int errors;
	int warnings;
	bool chained;			/* some conflist chains sockops-cb */
	bool silent;			/* a first pass for hook_config */
};

static const char check_doc[] =
	"Check this node's set-up: the config as the hook and CNI read it; the\n"
	"hooks directories podman and CRI-O read (from their containers.conf /\n"
	"crio.conf, or their defaults) and whether our hook is there and runs\n"
	"this binary; CNI conflists that chain sockops-cb and whether the plugin\n"
	"is in the runtime's plugin directories; bpffs, cgroup v2, BTF and the\n"
	"kernel's callback flags; the node's program (loaded, of this build);\n"
	"leftovers `gc` would remove.\n"
	"\n"
	"Each finding is ok, warn or error with what to do. The exit status is 1\n"
	"when any finding is an error.\n"
	"\n"
	"EXAMPLES:\n"
	"    sockops-cb check\n"
	"    sockops-cb check --config /etc/sockops-cb/config.json --json";

static error_t check_parse(int key, char *arg, struct argp_state *state)
{
	struct check_ctx *c = state->input;

	if (key != 'c')
		return view_parse(key, arg, state, &c->json, NULL, NULL);
	c->config = arg;
	return 0;
}

__attribute__((format(printf, 4, 5)))
static void finding(struct check_ctx *c, enum level lvl, const char *what, const char *fmt, ...)
{
	static const char *const names[] = { "ok", "warn", "error" };
	char msg[2048];
	va_list ap;
	cJSON *o;

	if (c->silent)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->errors += lvl == LVL_ERROR;
	c->warnings += lvl == LVL_WARN;
	if (!c->json) {
		printf("%-5s %-8s %s\n", names[lvl], what, msg);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "check", what);
	cJSON_AddStringToObject(o, "level", names[lvl]);
	cJSON_AddStringToObject(o, "message", msg);
	json_print_line(o);
}

static cJSON *read_json(const char *path)
{
	cJSON *j;
	char *text;
	size_t len;

	if (read_all_path(path, HOOK_JSON_MAX, &text, &len))
		return NULL;
	j = cJSON_ParseWithLength(text, len);
	free(text);
	return j;
}

static bool same_file(const char *a, const char *b)
{
	struct stat x, y;

	return !stat(a, &x) && !stat(b, &y) && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

static const char *str_item(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A hook JSON runs sockops-cb when its path or args[0] is ours. */
static bool runs_us(const cJSON *hook)
{
	const char *path = str_item(hook, "path");
	const cJSON *args = cJSON_GetObjectItemCaseSensitive(hook, "args");
	const cJSON *a0 = cJSON_GetArrayItem(args, 0);
	const char *base = path ? strrchr(path, '/') : NULL;

	return (base && !strcmp(base + 1, "sockops-cb")) ||
	       (cJSON_IsString(a0) && strstr(a0->valuestring, "sockops-cb"));
}

/* The --config a hook passes, for the config check. */
static void note_hook_config(struct check_ctx *c, const cJSON *hook)
{
	const cJSON *args = cJSON_GetObjectItemCaseSensitive(hook, "args"), *a;
	bool next = false;

	cJSON_ArrayForEach(a, args) {
		if (next && cJSON_IsString(a) && !c->hook_config[0])
			snprintf(c->hook_config, sizeof(c->hook_config), "%s", a->valuestring);
		next = cJSON_IsString(a) && !strcmp(a->valuestring, "--config");
	}
}

struct hook_scan {
	bool create;	/* a createRuntime hook of ours */
	bool poststop;
	int found;
};

static void check_hook_file(struct check_ctx *c, const struct runtime_dirs *d, const char *file,
			    struct hook_scan *s)
{
	cJSON *j = read_json(file), *hook, *stages, *st;
	const char *path;
	char self[RT_PATH_LEN];
	ssize_t n;

	hook = cJSON_GetObjectItemCaseSensitive(j, "hook");
	if (!j || !runs_us(hook)) {
		cJSON_Delete(j);
		return;
	}
	s->found++;
	note_hook_config(c, hook);
	stages = cJSON_GetObjectItemCaseSensitive(j, "stages");
	cJSON_ArrayForEach(st, stages) {
		if (cJSON_IsString(st) && !strcmp(st->valuestring, "createRuntime"))
			s->create = true;
		if (cJSON_IsString(st) && !strcmp(st->valuestring, "poststop"))
			s->poststop = true;
	}
	path = str_item(hook, "path");
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = 0;
	if (!path || access(path, X_OK))
		finding(c, LVL_ERROR, "hooks", "%s (%s) runs %s, which is not an executable: run `make install` or fix hook.path",
			file, d->name, path ? path : "(no hook.path)");
	else if (n > 0 && !same_file(path, self))
		finding(c, LVL_WARN, "hooks", "%s (%s) runs %s, not this binary (%s): another build's pins are refused; install this one or run that one's check",
			file, d->name, path, self);
	else
		finding(c, LVL_OK, "hooks", "%s (%s) runs this binary", file, d->name);
	cJSON_Delete(j);
}

static void join_dirs(const char dirs[][RT_PATH_LEN], int n, char *buf, size_t len)
{
	size_t off = 0;
	int i;

	buf[0] = 0;
	for (i = 0; i < n && off < len; i++)
		off += snprintf(buf + off, len - off, "%s%s", i ? ", " : "", dirs[i]);
}

static void check_hooks(struct check_ctx *c, struct runtime_dirs *d)
{
	struct hook_scan s = { 0 };
	char file[RT_PATH_LEN * 2], dirs[2048];
	struct dirent *de;
	size_t len;
	DIR *dir;
	int i;

	for (i = 0; i < d->n_hooks; i++) {
		dir = opendir(d->hooks[i]);
		while (dir && (de = readdir(dir))) {
			len = strlen(de->d_name);
			if (len < 6 || strcmp(de->d_name + len - 5, ".json"))
				continue;
			snprintf(file, sizeof(file), "%s/%s", d->hooks[i], de->d_name);
			check_hook_file(c, d, file, &s);
		}
		if (dir)
			closedir(dir);
	}
	join_dirs(d->hooks, d->n_hooks, dirs, sizeof(dirs));
	if (!s.found)
		finding(c, LVL_ERROR, "hooks", "%s reads hooks from %s (%s): no sockops-cb hook there, annotated containers run untraced; run `make install HOOKSDIR=%s`, or add the hook's directory to hooks_dir there",
			d->name, dirs[0] ? dirs : "(none)", d->hooks_source,
			d->n_hooks ? d->hooks[0] : "DIR");
	else if (!s.create)
		finding(c, LVL_ERROR, "hooks", "%s: no sockops-cb hook at createRuntime in %s: nothing is attached; install hooks/sockops-cb.json",
			d->name, dirs);
	else if (!s.poststop)
		finding(c, LVL_ERROR, "hooks", "%s: no sockops-cb hook at poststop in %s: tracing outlives containers until `gc`; install hooks/sockops-cb-poststop.json",
			d->name, dirs);
}

/* The first of the runtime's plugin dirs with an executable sockops-cb. */
static const char *plugin_dir(const struct runtime_dirs *d, char *file, size_t len)
{
	int i;

	for (i = 0; i < d->n_plugins; i++) {
		snprintf(file, len, "%s/sockops-cb", d->plugins[i]);
		if (!access(file, X_OK))
			return d->plugins[i];
	}
	return NULL;
}

static void check_conflist(struct check_ctx *c, const struct runtime_dirs *d, const char *file)
{
	cJSON *j = read_json(file), *plugins, *p;
	struct scb_config cfg;
	struct scb_error *err = NULL;
	char bin[RT_PATH_LEN * 2], dirs[2048];

	plugins = cJSON_GetObjectItemCaseSensitive(j, "plugins");
	cJSON_ArrayForEach(p, plugins) {
		const char *type = str_item(p, "type");

		if (!type || strcmp(type, "sockops-cb"))
			continue;
		c->chained = true;
		if (config_from_json(p, &cfg, &err)) {
			finding(c, LVL_ERROR, "cni", "%s (%s): the sockops-cb entry is refused: %s; every pod ADD on it fails until it is fixed",
				file, d->name, err->msg);
			scb_error_free(&err);
		} else if (!plugin_dir(d, bin, sizeof(bin))) {
			join_dirs(d->plugins, d->n_plugins, dirs, sizeof(dirs));
			finding(c, LVL_ERROR, "cni", "%s chains sockops-cb but %s's plugin directories (%s) have no sockops-cb: pods on it fail to start; run `ln -s $(command -v sockops-cb) %s/`",
				file, d->name, dirs, d->n_plugins ? d->plugins[0] : "DIR");
		} else if (!d->uses_cni) {
			finding(c, LVL_WARN, "cni", "%s chains sockops-cb but %s uses netavark, not CNI: it is not read (use the hook, or network_backend = \"cni\")",
				file, d->name);
		} else {
			finding(c, LVL_OK, "cni", "%s (%s) chains sockops-cb, found at %s", file,
				d->name, bin);
		}
	}
	cJSON_Delete(j);
}

static void check_cni(struct check_ctx *c, const struct runtime_dirs *d)
{
	char file[RT_PATH_LEN * 2];
	struct dirent *de;
	DIR *dir = opendir(d->netconf);
	size_t len;

	while (dir && (de = readdir(dir))) {
		len = strlen(de->d_name);
		if (len < 10 || strcmp(de->d_name + len - 9, ".conflist"))
			continue;
		snprintf(file, sizeof(file), "%s/%s", d->netconf, de->d_name);
		check_conflist(c, d, file);
	}
	if (dir)
		closedir(dir);
}

static void check_runtimes(struct check_ctx *c)
{
	struct runtime_dirs d;
	int id, present = 0;

	for (id = 0; id < RT_COUNT; id++) {
		runtime_dirs_read(id, &d);
		if (!d.present)
			continue;
		present++;
		if (d.has_hooks)
			check_hooks(c, &d);
		check_cni(c, &d);
	}
	if (!present)
		finding(c, LVL_WARN, "runtime", "no podman, CRI-O or containerd here (binary or config): nothing will call sockops-cb");
	if (present && !c->chained)
		finding(c, LVL_OK, "cni", "no CNI network chains sockops-cb (the hook traces annotated containers)");
}

static void check_config(struct check_ctx *c, struct scb_config *cfg)
{
	const char *path = c->config ? c->config :
			   c->hook_config[0] ? c->hook_config : SCB_DEFAULT_CONFIG;
	struct scb_error *err = NULL;

	config_defaults(cfg);
	if (access(path, F_OK) && errno == ENOENT) {
		finding(c, LVL_WARN, "config", "%s does not exist: the built-in defaults apply (no flag sets: only sockops-cb.io/flags annotations are traced); copy examples/config.json there to choose",
			path);
		return;
	}
	if (config_load(path, cfg, &err)) {
		finding(c, LVL_ERROR, "config", "%s: containers that ask for tracing fail to start (unannotated ones run untraced); fix the file",
			err->msg);
		scb_error_free(&err);
		config_defaults(cfg);
		return;
	}
	finding(c, LVL_OK, "config", "%s is valid: %d flag sets, unannotated containers %s",
		path, cfg->n_sets,
		cfg->default_set >= 0 ? cfg->sets[cfg->default_set].name : "not traced");
}

/* identity on, but the ceiling lets no pod announce or learn. */
static void check_identity(struct check_ctx *c, const struct scb_config *cfg)
{
	const struct scb_identity_config *ic = &cfg->identity;

	if (!ic->enabled)
		return;
	if (!(cfg->max_flags & SCB_HDR_FLAGS)) {
		finding(c, LVL_WARN, "identity",
			"identity is enabled but maxFlags has no header-option flag: no pod can announce (WRITE_HDR_OPT) or learn (PARSE_ALL_HDR_OPT, PARSE_UNKNOWN_HDR_OPT)");
		return;
	}
	finding(c, LVL_OK, "identity",
		"identity on: node %08x (%s), option kind %u experiment id 0x%04x (every node must use the same), up to %u peers per target",
		ic->node, ic->node_name, ic->kind, ic->exid,
		ic->max_peers);
}

static void check_bpffs(struct check_ctx *c)
{
	struct statfs st;

	if (statfs("/sys/fs/bpf", &st))
		finding(c, LVL_ERROR, "bpffs", "/sys/fs/bpf: %s: nothing can be pinned; the kernel needs sysfs and CONFIG_BPF_SYSCALL",
			strerror(errno));
	else if (st.f_type != BPF_FS_MAGIC)
		finding(c, LVL_WARN, "bpffs", "/sys/fs/bpf is not mounted: sockops-cb mounts it at its first use (systemd mounts it at boot)");
	else
		finding(c, LVL_OK, "bpffs", "/sys/fs/bpf is mounted");
}

static void check_cgroup2(struct check_ctx *c)
{
	struct scb_error *err = NULL;
	char mnt[4096];

	if (cgroup2_mount(mnt, sizeof(mnt), &err)) {
		finding(c, LVL_ERROR, "cgroup2", "%s: sock_ops programs attach to cgroup v2 only; boot with systemd.unified_cgroup_hierarchy=1",
			err->msg);
		scb_error_free(&err);
		return;
	}
	finding(c, LVL_OK, "cgroup2", "cgroup v2 at %s", mnt);
}

static void check_kernel(struct check_ctx *c, const struct scb_config *cfg)
{
	struct scb_error *err = NULL;
	uint32_t have, want = cfg->max_flags;
	char buf[256], miss[256];
	struct utsname u;
	int i;

	uname(&u);
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		finding(c, LVL_ERROR, "btf", "/sys/kernel/btf/vmlinux: %s: sockops-cb needs a kernel with CONFIG_DEBUG_INFO_BTF",
			strerror(errno));
		return;
	}
	finding(c, LVL_OK, "btf", "/sys/kernel/btf/vmlinux (Linux %s)", u.release);
	if (kernel_cb_flags(&have, &err)) {
		finding(c, LVL_ERROR, "kernel", "%s", err->msg);
		scb_error_free(&err);
		return;
	}
	for (i = 0; i < cfg->n_sets; i++)
		want |= cfg->sets[i].mask;
	if (want & ~have) {
		flags_format(want & ~have, miss, sizeof(miss));
		finding(c, LVL_WARN, "kernel", "Linux %s lacks %s, which the config asks for: containers get the rest; drop them from the config or run a newer kernel",
			u.release, miss);
	} else {
		finding(c, LVL_OK, "kernel", "Linux %s has every callback flag the config uses (%s)",
			u.release, flags_format(have, buf, sizeof(buf)));
	}
}

/* Each probed feature: what it needs, and what is lost without it. */
static void check_features(struct check_ctx *c)
{
	const struct scb_feature_info *fi;
	int f;

	for (f = 0; f < SCB_N_FEATURES; f++) {
		fi = feature_info(f);
		if (feature_has(f))
			finding(c, LVL_OK, "feature", "%s: yes (%s)", fi->name, fi->needs);
		else
			finding(c, LVL_WARN, "feature", "%s: no, this kernel lacks %s: %s", fi->name,
				fi->needs, fi->without);
	}
}

static void check_node(struct check_ctx *c)
{
	struct scb_error *err = NULL;
	struct scb_node *n;
	int ret, left = 0;

	ret = node_open(&n, NODE_READ, &err);
	if (ret > 0) {
		finding(c, LVL_OK, "node", "not loaded: the first traced container loads it");
		return;
	}
	if (ret < 0) {
		finding(c, LVL_ERROR, "node", "%s", err->msg);
		scb_error_free(&err);
		return;
	}
	finding(c, LVL_OK, "node", "loaded, of this build");
	if (gc_leftovers(n, &left, &err)) {
		finding(c, LVL_WARN, "gc", "cannot look for leftovers: %s", err->msg);
		scb_error_free(&err);
	} else if (left) {
		finding(c, LVL_WARN, "gc", "%d leftover(s) of crashed or lost hooks: run `sockops-cb gc` (`gc --dry-run` lists them)",
			left);
	} else {
		finding(c, LVL_OK, "gc", "no leftovers");
	}
	node_close(n);
}

int cmd_check(int argc, char **argv, struct scb_error **err)
{
	static const struct argp_option opts[] = {
		{ "config", 'c', "FILE", 0,
		  "The config to check (default: the one the installed hook passes, else "
		  SCB_DEFAULT_CONFIG ")", 0 },
		{ "json", 'j', NULL, 0, "One JSON object per finding", 0 },
		{},
	};
	const struct argp argp = { .options = opts, .parser = check_parse, .doc = check_doc };
	struct check_ctx c = { 0 };
	struct scb_config cfg;

	argp_parse(&argp, argc, argv, 0, NULL, &c);
	/* The installed hook says which config it passes: look, then report
	 * in order. */
	c.silent = true;
	check_runtimes(&c);
	c.silent = false;
	c.chained = false;
	check_config(&c, &cfg);
	check_identity(&c, &cfg);
	check_runtimes(&c);
	check_bpffs(&c);
	check_cgroup2(&c);
	check_kernel(&c, &cfg);
	check_features(&c);
	if (geteuid())
		finding(&c, LVL_ERROR, "node", "cannot read the node's pins: run as root");
	else
		check_node(&c);
	fflush(stdout);
	if (c.errors)
		return scb_error_set(err, 1, "%d error(s), %d warning(s)", c.errors, c.warnings);
	return 0;
}
