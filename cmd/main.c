// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* sockops-cb: per-container TCP tracing with sock_ops. CNI plugin when
 * CNI_COMMAND is set, otherwise a subcommand (hook, list, stats, ...). */
#include <argp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "cmd.h"
#include "cniskel.h"
#include "node.h"

const char *argp_program_version = "sockops-cb " SCB_VERSION;
const char *argp_program_bug_address = "https://github.com/sockops-cb/sockops-cb/issues";

struct command {
	const char *name;
	int (*run)(int argc, char **argv, struct scb_error **err);
	const char *help;
};

static const struct command commands[] = {
	{ "hook", cmd_hook, "OCI runtime hook: createRuntime attaches, poststop detaches" },
	{ "list", cmd_list, "List traced containers and their flags" },
	{ "stats", cmd_stats, "Counters and RTT histogram per container" },
	{ "trace", cmd_trace, "Stream live TCP events" },
	{ "conns", cmd_conns, "Live connections of a container (like ss -ti)" },
	{ "peers", cmd_peers, "Whom a container talks to, by handshake identity" },
	{ "metrics", cmd_metrics, "Counters in the Prometheus text format" },
	{ "serve", cmd_serve, "Serve /metrics over HTTP for Prometheus" },
	{ "flags", cmd_flags, "Probe which callback flags this kernel supports" },
	{ "attach", cmd_attach, "Trace a cgroup by hand" },
	{ "detach", cmd_detach, "Stop tracing a target and remove its state" },
	{ "gc", cmd_gc, "Remove state a crash or a lost poststop left behind" },
	{ "check", cmd_check, "Check the install, the config, the kernel and the node" },
	{ "unload", cmd_unload, "Remove the pinned program and maps" },
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
	size_t i;

	fprintf(out, "Usage: sockops-cb COMMAND [OPTION...]\n"
		     "Per-container TCP tracing with BPF sock_ops callbacks.\n"
		     "Run as a CNI plugin when CNI_COMMAND is set.\n\nCommands:\n");
	for (i = 0; i < N_COMMANDS; i++)
		fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].help);
	fprintf(out, "\n`sockops-cb COMMAND --help` describes each command.\n"
		     "  --version  print the version\n");
}

static int run_command(int argc, char **argv)
{
	struct scb_error *err = NULL;
	size_t i;
	int ret;

	for (i = 0; i < N_COMMANDS; i++) {
		if (strcmp(argv[1], commands[i].name))
			continue;
		ret = commands[i].run(argc - 1, argv + 1, &err);
		if (ret < 0) {
			fprintf(stderr, "sockops-cb %s: %s\n", commands[i].name,
				err && err->msg ? err->msg : "failed");
			scb_error_free(&err);
			return 1;
		}
		return 0;
	}
	fprintf(stderr, "sockops-cb: unknown command \"%s\"\n\n", argv[1]);
	usage(stderr);
	return 2;
}

int main(int argc, char **argv)
{
	int ret;

	loader_init(false);
	if (getenv("CNI_COMMAND"))
		return cni_skel_main(&cni_plugin);
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("%s\n", argp_program_version);
		return 0;
	}
	ret = run_command(argc, argv);
	return ret;
}
