// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cgroup.h"
#include "text.h"

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' &&
		    s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*o++ = (s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0');
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

int cgroup_parse_mountinfo(const char *text, char *out, size_t len)
{
	const char *line = text, *nl;
	char buf[4096], *f[12], *dash, *save;
	int n;

	for (; line && *line; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		n = nl ? nl - line : (int)strlen(line);
		if (n <= 0 || n >= (int)sizeof(buf))
			continue;
		memcpy(buf, line, n);
		buf[n] = '\0';
		/* Fields after " - " are fstype, source, options. */
		dash = strstr(buf, " - ");
		if (!dash || strncmp(dash + 3, "cgroup2 ", 8))
			continue;
		*dash = '\0';
		save = NULL;
		for (n = 0; n < 5; n++) {
			f[n] = strtok_r(n ? NULL : buf, " ", &save);
			if (!f[n])
				break;
		}
		if (n < 5)
			continue;
		unescape_octal(f[4]);
		if ((size_t)snprintf(out, len, "%s", f[4]) >= len)
			return -1;
		return 0;
	}
	return -1;
}

int cgroup_parse_proc(const char *text, char *out, size_t len)
{
	const char *line = text, *nl;
	int n;

	for (; line && *line; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		n = nl ? nl - line : (int)strlen(line);
		if (n < 4 || strncmp(line, "0::", 3))
			continue;
		if ((size_t)(n - 3) >= len)
			return -1;
		memcpy(out, line + 3, n - 3);
		out[n - 3] = '\0';
		return 0;
	}
	return -1;
}

static int slurp(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t off = 0;
	ssize_t r;

	if (fd < 0)
		return -1;
	while (off + 1 < len && (r = read(fd, buf + off, len - 1 - off)) > 0)
		off += r;
	close(fd);
	buf[off] = '\0';
	return 0;
}

int cgroup2_mount(char *out, size_t len, struct scb_error **err)
{
	static char cached[4096];
	char *text;
	int ret;

	if (cached[0])
		return snprintf(out, len, "%s", cached) >= (int)len ? -1 : 0;
	text = malloc(1 << 20);
	if (!text)
		return scb_error_set(err, SCB_ERR_INTERNAL, "out of memory");
	ret = slurp("/proc/self/mountinfo", text, 1 << 20);
	if (!ret)
		ret = cgroup_parse_mountinfo(text, cached, sizeof(cached));
	free(text);
	if (ret)
		return scb_error_set(err, SCB_ERR_CGROUP,
				     "no cgroup2 mount in /proc/self/mountinfo; sockops-cb needs cgroup v2 (pure or hybrid)");
	return snprintf(out, len, "%s", cached) >= (int)len ? -1 : 0;
}

int cgroup_of_pid(pid_t pid, char *out, size_t len, struct scb_error **err)
{
	char path[64], text[8192];

	if (pid <= 0)
		return scb_error_set(err, SCB_ERR_INPUT, "invalid pid %d", pid);
	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	if (slurp(path, text, sizeof(text)))
		return scb_error_set(err, SCB_ERR_CGROUP,
				     "cannot read %s: %s (has the process exited?)",
				     path, strerror(errno));
	if (cgroup_parse_proc(text, out, len))
		return scb_error_set(err, SCB_ERR_CGROUP,
				     "pid %d has no cgroup v2 entry (0::) in %s", pid, path);
	return 0;
}

static int has_dotdot(const char *rel)
{
	const char *p = rel;

	while ((p = strstr(p, ".."))) {
		if ((p == rel || p[-1] == '/') && (p[2] == '\0' || p[2] == '/'))
			return 1;
		p += 2;
	}
	return 0;
}

int cgroup_resolve(const char *rel, char *abs, size_t len, struct scb_error **err)
{
	char mnt[4096], joined[8192], real[PATH_MAX], esc[300];
	struct stat st;
	size_t m;

	if (cgroup2_mount(mnt, sizeof(mnt), err))
		return -1;
	if (!rel || !*rel || has_dotdot(rel) || strlen(rel) >= 4096)
		return scb_error_set(err, SCB_ERR_CGROUP,
				     "cgroup path \"%s\" is empty, too long or contains \"..\"",
				     text_escape(rel ? rel : "", esc, sizeof(esc)));
	/* Accept both "/libpod_parent/x" and "<mount>/libpod_parent/x". */
	m = strlen(mnt);
	if (!strncmp(rel, mnt, m) && (rel[m] == '/' || !rel[m]))
		rel += m;
	snprintf(joined, sizeof(joined), "%s/%s", mnt, rel[0] == '/' ? rel + 1 : rel);
	if (!realpath(joined, real) || stat(real, &st) || !S_ISDIR(st.st_mode))
		return scb_error_set(err, SCB_ERR_CGROUP,
				     "cgroup %s does not exist under the cgroup2 mount %s",
				     text_escape(rel, esc, sizeof(esc)), mnt);
	/* A symlink must not lead out of the cgroup2 tree. */
	if (strncmp(real, mnt, m) || (real[m] != '/' && real[m]))
		return scb_error_set(err, SCB_ERR_CGROUP, "cgroup %s is outside %s",
				     text_escape(rel, esc, sizeof(esc)), mnt);
	if ((size_t)snprintf(abs, len, "%s", real) >= len)
		return scb_error_set(err, SCB_ERR_CGROUP, "cgroup path too long");
	return 0;
}

bool cgroup_is_root(const char *abs)
{
	char mnt[4096];

	return !cgroup2_mount(mnt, sizeof(mnt), NULL) && !strcmp(abs, mnt);
}

int cgroup_expand_slice(const char *in, char *out, size_t len)
{
	size_t n = strlen(in), off = 0;
	const char *dash;

	if (strchr(in, '/') || n < 7 || strcmp(in + n - 6, ".slice"))
		return (size_t)snprintf(out, len, "%s", in) >= len ? -1 : 0;
	out[0] = '\0';
	/* Each dash-separated prefix is a parent slice. */
	for (dash = strchr(in, '-'); dash; dash = strchr(dash + 1, '-')) {
		off += snprintf(out + off, len > off ? len - off : 0, "/%.*s.slice",
				(int)(dash - in), in);
		if (off >= len)
			return -1;
	}
	off += snprintf(out + off, len > off ? len - off : 0, "/%s", in);
	return off >= len ? -1 : 0;
}

int cgroup_id(const char *abs, uint64_t *id, struct scb_error **err)
{
	struct {
		struct file_handle fh;
		uint64_t id;
	} h = { .fh.handle_bytes = sizeof(uint64_t) };
	int mount_id;

	/* The kernfs file handle of a cgroup is its 64-bit id, the same
	 * number BPF reads from cgroup->kn->id. */
	if (name_to_handle_at(AT_FDCWD, abs, &h.fh, &mount_id, 0))
		return scb_error_set(err, SCB_ERR_CGROUP, "cannot get the id of cgroup %s: %s",
				     abs, strerror(errno));
	*id = h.id;
	return 0;
}
