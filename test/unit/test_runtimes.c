// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* runtimes.c: the keys `check` reads from containers.conf and crio.conf. */
#include "tap.h"
#include "runtimes.h"

static char out[RT_MAX_DIRS][RT_PATH_LEN];

static int test_array_over_lines(void)
{
	const char *conf =
		"[containers]\n"
		"hooks_dir = [\"/not/this/table\"]\n"
		"[engine]\n"
		"# hooks_dir = [\"/commented\"]\n"
		"hooks_dir = [\n"
		"  \"/a\",   # a comment\n"
		"  '/b#c',\n"
		"]\n"
		"[network]\n"
		"network_config_dir = \"/etc/cni/net.d\"\n";

	CHECK(toml_strings(conf, "engine", "hooks_dir", out, RT_MAX_DIRS) == 2);
	CHECK(!strcmp(out[0], "/a"));
	CHECK(!strcmp(out[1], "/b#c"));
	CHECK(toml_strings(conf, "network", "network_config_dir", out, 1) == 1);
	CHECK(!strcmp(out[0], "/etc/cni/net.d"));
	return 0;
}

static int test_unset_and_empty(void)
{
	const char *conf = "[engine]\nhooks_dirs = [\"/x\"]\nruntime = \"runc\"\n"
			   "[crio.runtime]\nhooks_dir = []\n";

	CHECK(toml_strings(conf, "engine", "hooks_dir", out, RT_MAX_DIRS) == -1);
	CHECK(toml_strings(conf, "crio.runtime", "hooks_dir", out, RT_MAX_DIRS) == 0);
	CHECK(toml_strings("", "engine", "hooks_dir", out, RT_MAX_DIRS) == -1);
	return 0;
}

static int test_last_wins_and_quoted_table(void)
{
	const char *conf = "[plugins.\"io.containerd.grpc.v1.cri\".cni]\n"
			   "  bin_dir = \"/opt/cni/bin\"\n"
			   "  bin_dir = \"/usr/lib/cni\"\n";

	CHECK(toml_strings(conf, "plugins.\"io.containerd.grpc.v1.cri\".cni", "bin_dir", out,
			   1) == 1);
	CHECK(!strcmp(out[0], "/usr/lib/cni"));
	return 0;
}

static int test_bounded(void)
{
	const char *conf = "[e]\nk = [\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\",\"10\"]\n"
			   "u = [\"unterminated\n";

	CHECK(toml_strings(conf, "e", "k", out, RT_MAX_DIRS) == RT_MAX_DIRS);
	CHECK(!strcmp(out[RT_MAX_DIRS - 1], "8"));
	CHECK(toml_strings(conf, "e", "u", out, RT_MAX_DIRS) == 0);
	return 0;
}

int main(void)
{
	RUN_TEST(test_array_over_lines);
	RUN_TEST(test_unset_and_empty);
	RUN_TEST(test_last_wins_and_quoted_table);
	RUN_TEST(test_bounded);
	return tap_done();
}
