// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* cgroup.c: finding the cgroup2 mount and a process's cgroup from text,
 * and refusing paths that leave the cgroup2 tree. */
#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>
#include "tap.h"
#include "cgroup.h"

/* Ubuntu 20.04-like hybrid host: v1 controllers, v2 at .../unified.  A
 * tmpfs whose source is "cgroup2" and an ext4 mount under a "cgroup2"
 * directory come first: only the fstype counts. */
static const char hybrid_mountinfo[] =
	"22 27 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
	"27 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
	"30 27 0:40 / /run/fake rw - tmpfs cgroup2 rw\n"
	"31 27 8:2 / /mnt/cgroup2 rw,relatime - ext4 /dev/sda2 rw\n"
	"33 22 0:28 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755\n"
	"35 33 0:30 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,xattr,name=systemd\n"
	"38 33 0:33 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,cpu,cpuacct\n"
	"39 33 0:34 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,memory\n"
	"34 33 0:29 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate\n"
	"40 33 0:35 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:17 - cgroup cgroup rw,pids\n";

/* Fedora-like pure v2 host, no optional fields on the cgroup2 line, and
 * no newline at the end. */
static const char v2_mountinfo[] =
	"23 1 253:0 / / rw,relatime shared:1 - xfs /dev/mapper/root rw\n"
	"24 23 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw\n"
	"36 24 0:31 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,seclabel,nsdelegate,memory_recursiveprot";

static const char v1_only_mountinfo[] =
	"33 22 0:28 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755\n"
	"35 33 0:30 / /sys/fs/cgroup/systemd rw,relatime shared:11 - cgroup cgroup rw,name=systemd\n"
	"39 33 0:34 / /sys/fs/cgroup/memory rw,relatime shared:16 - cgroup cgroup rw,memory\n";

static const char hybrid_proc[] =
	"12:pids:/user.slice/user-1000.slice/session-3.scope\n"
	"11:memory:/user.slice/user-1000.slice/session-3.scope\n"
	"10:cpu,cpuacct:/user.slice\n"
	"9:devices:/user.slice\n"
	"8:net_cls,net_prio:/\n"
	"7:blkio:/user.slice\n"
	"6:freezer:/\n"
	"5:perf_event:/\n"
	"4:hugetlb:/\n"
	"3:cpuset:/\n"
	"2:rdma:/\n"
	"1:name=systemd:/user.slice/user-1000.slice/session-3.scope\n"
	"0::/libpod_parent/libpod-abc\n";

static int test_mountinfo_hybrid(void)
{
	char out[256];

	CHECK_INT(cgroup_parse_mountinfo(hybrid_mountinfo, out, sizeof(out)), 0);
	CHECK_STR(out, "/sys/fs/cgroup/unified");
	return 0;
}

static int test_mountinfo_v2(void)
{
	char out[256];

	CHECK_INT(cgroup_parse_mountinfo(v2_mountinfo, out, sizeof(out)), 0);
	CHECK_STR(out, "/sys/fs/cgroup");
	return 0;
}

static int test_mountinfo_escaped(void)
{
	char out[256];

	CHECK_INT(cgroup_parse_mountinfo(
		"27 1 8:1 / / rw - ext4 /dev/sda1 rw\n"
		"50 27 0:45 / /mnt/my\\040cgroup\\134v2 rw,relatime - cgroup2 none rw\n",
		out, sizeof(out)), 0);
	CHECK_STR(out, "/mnt/my cgroup\\v2");
	return 0;
}

static int test_mountinfo_none(void)
{
	char out[256];

	strcpy(out, "untouched");
	CHECK_INT(cgroup_parse_mountinfo(v1_only_mountinfo, out, sizeof(out)), -1);
	CHECK_INT(cgroup_parse_mountinfo("", out, sizeof(out)), -1);
	CHECK_INT(cgroup_parse_mountinfo("\n\n\n", out, sizeof(out)), -1);
	/* cut lines: too few fields */
	CHECK_INT(cgroup_parse_mountinfo("34 33 0:29 / - cgroup2 cgroup2 rw\n", out, sizeof(out)), -1);
	CHECK_INT(cgroup_parse_mountinfo("- cgroup2 cgroup2 rw", out, sizeof(out)), -1);
	return 0;
}

static int test_mountinfo_small_out(void)
{
	char out[64];

	CHECK_INT(cgroup_parse_mountinfo(v2_mountinfo, out, 8), -1);
	CHECK_INT(cgroup_parse_mountinfo(v2_mountinfo, out, strlen("/sys/fs/cgroup")), -1);
	CHECK_INT(cgroup_parse_mountinfo(v2_mountinfo, out, strlen("/sys/fs/cgroup") + 1), 0);
	CHECK_STR(out, "/sys/fs/cgroup");
	return 0;
}

/* A line too long for the parser's buffer is skipped; the cgroup2 line
 * after it is still found. */
static int test_mountinfo_long_line(void)
{
	size_t n = 6000;
	char *text = malloc(n + 64 + sizeof(v2_mountinfo)), out[256];
	int ret;

	CHECK(text);
	strcpy(text, "1 2 0:1 / /");
	memset(text + 11, 'x', n);
	strcpy(text + 11 + n, " rw - ext4 /dev/x rw\n");
	strcat(text, v2_mountinfo);
	ret = cgroup_parse_mountinfo(text, out, sizeof(out));
	free(text);
	CHECK_INT(ret, 0);
	CHECK_STR(out, "/sys/fs/cgroup");
	return 0;
}

static int test_proc_hybrid(void)
{
	char out[256];

	CHECK_INT(cgroup_parse_proc(hybrid_proc, out, sizeof(out)), 0);
	CHECK_STR(out, "/libpod_parent/libpod-abc");
	return 0;
}

static int test_proc_v2(void)
{
	char out[256];

	CHECK_INT(cgroup_parse_proc("0::/user.slice/user-1000.slice/session-3.scope\n",
				    out, sizeof(out)), 0);
	CHECK_STR(out, "/user.slice/user-1000.slice/session-3.scope");
	CHECK_INT(cgroup_parse_proc("0::/machine.slice/libpod-0123.scope/container", out,
				    sizeof(out)), 0);
	CHECK_STR(out, "/machine.slice/libpod-0123.scope/container");
	CHECK_INT(cgroup_parse_proc("0::/\n", out, sizeof(out)), 0);
	CHECK_STR(out, "/");
	return 0;
}

static int test_proc_no_v2_line(void)
{
	char out[256];

	CHECK_INT(cgroup_parse_proc("12:pids:/user.slice\n1:name=systemd:/user.slice\n",
				    out, sizeof(out)), -1);
	CHECK_INT(cgroup_parse_proc("", out, sizeof(out)), -1);
	CHECK_INT(cgroup_parse_proc("0::\n", out, sizeof(out)), -1);
	/* "10::/x" is hierarchy 10, not 0 */
	CHECK_INT(cgroup_parse_proc("10::/x\n", out, sizeof(out)), -1);
	return 0;
}

static int test_proc_small_out(void)
{
	char out[8];

	CHECK_INT(cgroup_parse_proc(hybrid_proc, out, sizeof(out)), -1);
	CHECK_INT(cgroup_parse_proc("0::/abcdefg\n", out, sizeof(out)), -1);
	CHECK_INT(cgroup_parse_proc("0::/abcdef\n", out, sizeof(out)), 0);
	CHECK_STR(out, "/abcdef");
	return 0;
}

/* ---- against the host's cgroup2 mount ---- */

static char mnt[PATH_MAX];

static int have_cgroup2(void)
{
	struct scb_error *err = NULL;

	if (mnt[0])
		return 1;
	if (cgroup2_mount(mnt, sizeof(mnt), &err)) {
		printf("# no cgroup2 mount: %s\n", err ? tap_show(err->msg) : "?");
		scb_error_free(&err);
		mnt[0] = '\0';
		return 0;
	}
	return 1;
}

#define CHECK_RESOLVE_REFUSED(rel, want)                                      \
	do {                                                                  \
		struct scb_error *e_ = NULL;                                  \
		char abs_[PATH_MAX];                                          \
		CHECK_ERR(cgroup_resolve(rel, abs_, sizeof(abs_), &e_), e_,   \
			  SCB_ERR_CGROUP);                                    \
		CHECK_CONTAINS(e_->msg, want);                                \
		scb_error_free(&e_);                                          \
	} while (0)

static int test_resolve_dotdot(void)
{
	if (!have_cgroup2())
		return TAP_SKIP;
	CHECK_RESOLVE_REFUSED("/../etc", "cgroup path \"/../etc\" is empty, too long or contains \"..\"");
	CHECK_RESOLVE_REFUSED("a/../../x", "contains \"..\"");
	CHECK_RESOLVE_REFUSED("..", "contains \"..\"");
	CHECK_RESOLVE_REFUSED("/..", "contains \"..\"");
	CHECK_RESOLVE_REFUSED("a/..", "contains \"..\"");
	CHECK_RESOLVE_REFUSED("/sys/fs/cgroup/../../etc", "contains \"..\"");
	return 0;
}

static int test_resolve_empty(void)
{
	if (!have_cgroup2())
		return TAP_SKIP;
	CHECK_RESOLVE_REFUSED("", "cgroup path \"\" is empty");
	CHECK_RESOLVE_REFUSED(NULL, "cgroup path \"\" is empty");
	return 0;
}

static int test_resolve_missing(void)
{
	if (!have_cgroup2())
		return TAP_SKIP;
	CHECK_RESOLVE_REFUSED("/scb-unit-no-such-cgroup", "does not exist under the cgroup2 mount");
	/* "..." and "..x" are names, not parent references: allowed, and absent */
	CHECK_RESOLVE_REFUSED("/.../x", "does not exist");
	CHECK_RESOLVE_REFUSED("/..x", "does not exist");
	/* a file of the cgroup, not a cgroup */
	CHECK_RESOLVE_REFUSED("/cgroup.procs", "does not exist");
	return 0;
}

static int test_resolve_root(void)
{
	struct scb_error *err = NULL;
	char abs[PATH_MAX];

	if (!have_cgroup2())
		return TAP_SKIP;
	CHECK_OK(cgroup_resolve("/", abs, sizeof(abs), &err), err);
	CHECK_STR(abs, mnt);
	/* the mount point itself, as containerd may pass it */
	CHECK_OK(cgroup_resolve(mnt, abs, sizeof(abs), &err), err);
	CHECK_STR(abs, mnt);
	return 0;
}

/* A throwaway cgroup (named so test/run.sh reports it if left behind):
 * found with and without the mount prefix, and its id is its inode. */
static int test_resolve_child(void)
{
	char dir[PATH_MAX + 64], rel[64], abs[PATH_MAX], with_mnt[PATH_MAX + 64];
	struct scb_error *err = NULL;
	struct stat st;
	uint64_t id = 0;
	int ret = -1;

	if (!have_cgroup2())
		return TAP_SKIP;
	snprintf(rel, sizeof(rel), "/scb-test-unit-%d", (int)getpid());
	snprintf(dir, sizeof(dir), "%s%s", mnt, rel);
	if (mkdir(dir, 0755)) {
		printf("# cannot create %s: %s\n", dir, strerror(errno));
		return TAP_SKIP;
	}
	if (cgroup_resolve(rel, abs, sizeof(abs), &err) || strcmp(abs, dir)) {
		tap_diag("resolve %s: %s (got %s)", rel, err ? tap_show(err->msg) : "", abs);
		goto out;
	}
	snprintf(with_mnt, sizeof(with_mnt), "%s%s", mnt, rel);
	if (cgroup_resolve(with_mnt, abs, sizeof(abs), &err) || strcmp(abs, dir)) {
		tap_diag("resolve %s: %s (got %s)", with_mnt, err ? tap_show(err->msg) : "", abs);
		goto out;
	}
	if (cgroup_resolve(rel + 1, abs, sizeof(abs), &err) || strcmp(abs, dir)) {
		tap_diag("resolve %s: %s (got %s)", rel + 1, err ? tap_show(err->msg) : "", abs);
		goto out;
	}
	/* a buffer too small for the answer is an error, not a cut path */
	if (cgroup_resolve(rel, abs, strlen(dir), &err) >= 0 || !err) {
		tap_diag("resolve into %zu bytes succeeded: %s", strlen(dir), abs);
		goto out;
	}
	scb_error_free(&err);
	if (cgroup_id(dir, &id, &err) || stat(dir, &st)) {
		tap_diag("cgroup_id %s: %s", dir, err ? tap_show(err->msg) : strerror(errno));
		goto out;
	}
	if (id != (uint64_t)st.st_ino || id <= 1) {
		tap_diag("cgroup_id %s is %llu, inode %llu", dir, (unsigned long long)id,
			 (unsigned long long)st.st_ino);
		goto out;
	}
	ret = 0;
out:
	scb_error_free(&err);
	if (rmdir(dir)) {
		tap_diag("cannot remove %s: %s", dir, strerror(errno));
		ret = -1;
	}
	return ret;
}

static int test_cgroup_of_self(void)
{
	struct scb_error *err = NULL;
	char rel[PATH_MAX], abs[PATH_MAX];

	if (!have_cgroup2())
		return TAP_SKIP;
	CHECK_OK(cgroup_of_pid(getpid(), rel, sizeof(rel), &err), err);
	CHECK(rel[0] == '/');
	CHECK_OK(cgroup_resolve(rel, abs, sizeof(abs), &err), err);
	CHECK(!strncmp(abs, mnt, strlen(mnt)));

	CHECK_ERR(cgroup_of_pid(0, rel, sizeof(rel), &err), err, SCB_ERR_INPUT);
	scb_error_free(&err);
	CHECK_ERR(cgroup_of_pid(-5, rel, sizeof(rel), &err), err, SCB_ERR_INPUT);
	scb_error_free(&err);
	return 0;
}

int main(void)
{
	RUN_TEST(test_mountinfo_hybrid);
	RUN_TEST(test_mountinfo_v2);
	RUN_TEST(test_mountinfo_escaped);
	RUN_TEST(test_mountinfo_none);
	RUN_TEST(test_mountinfo_small_out);
	RUN_TEST(test_mountinfo_long_line);
	RUN_TEST(test_proc_hybrid);
	RUN_TEST(test_proc_v2);
	RUN_TEST(test_proc_no_v2_line);
	RUN_TEST(test_proc_small_out);
	RUN_TEST(test_resolve_dotdot);
	RUN_TEST(test_resolve_empty);
	RUN_TEST(test_resolve_missing);
	RUN_TEST(test_resolve_root);
	RUN_TEST(test_resolve_child);
	RUN_TEST(test_cgroup_of_self);
	return tap_done();
}
