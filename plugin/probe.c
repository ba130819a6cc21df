// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* `sockops-cb flags`: which callback flags this kernel accepts, found by
 * asking it. A throwaway cgroup gets every flag; a child process in it
 * listens on loopback, the program's LISTEN callback calls
 * bpf_sock_ops_cb_flags_set, and the bits the kernel refused are read
 * back from the target. */
#include <argp.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <cjson/cJSON.h>
#include "cgroup.h"
#include "cmd.h"
#include "flagnames.h"
#include "target.h"

static const char flags_doc[] =
	"Probe which sock_ops callback flags this kernel supports.\n"
	"\n"
	"EXAMPLES:\n"
	"    sockops-cb flags\n"
	"    sockops-cb flags --json";

static error_t flags_parse(int key, char *arg, struct argp_state *state)
{
	bool *json = state->input;

	if (key != 'j')
		return ARGP_ERR_UNKNOWN;
	*json = true;
	return 0;
}

/* Child: join the cgroup, listen on 127.0.0.1, exit. */
static void listen_in(const char *cg)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	char path[4300];
	int fd;

	snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
	fd = open(path, O_WRONLY);
	if (fd < 0 || write(fd, "0\n", 2) != 2)
		_exit(2);
	close(fd);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 1))
		_exit(3);
	_exit(0);
}

static int run_listener(const char *cg, struct scb_error **err)
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return scb_error_set(err, SCB_ERR_INTERNAL, "fork: %s", strerror(errno));
	if (!pid)
		listen_in(cg);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		return scb_error_set(err, SCB_ERR_INTERNAL,
				     "the probe process could not listen in %s", cg);
	return 0;
}

static int probe(struct scb_node *n, const char *cg, uint32_t *refused,
		 struct scb_error **err)
{
	struct scb_target t = { .flags = SCB_FLAGS_KNOWN, .requested = SCB_FLAGS_KNOWN,
				.origin = SCB_ORIGIN_MANUAL };
	struct target_iter it = { 0 };
	struct scb_target cur;
	bool found;
	int ret;

	snprintf(t.id, sizeof(t.id), "sockops-cb-probe-%d", getpid());
	snprintf(t.name, sizeof(t.name), "%.63s", t.id);
	if (target_attach_cgroup(n, &t, cg, err))
		return -1;
	ret = run_listener(cg, err);
	*refused = SCB_FLAGS_KNOWN;
	while (!ret && target_next(n, &it, &cur))
		if (!strcmp(cur.id, t.id))
			*refused = cur.refused;
	if (target_detach(n, t.id, false, &found, ret ? NULL : err))
		ret = -1;
	return ret;
}

static void print_flags(uint32_t supported, bool json)
{
	cJSON *o;
	char name[64];
	uint32_t bit;

	for (bit = 1; bit <= SCB_FLAGS_KNOWN; bit <<= 1) {
		flags_format(bit, name, sizeof(name));
		if (json) {
			o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "flag", name);
			cJSON_AddNumberToObject(o, "bit", bit);
			cJSON_AddBoolToObject(o, "supported", supported & bit);
			json_print_line(o);
		} else {
			printf("%-22s 0x%02x  %s\n", name, bit, supported & bit ? "yes" : "no");
		}
	}
}

int cmd_flags(int argc, char **argv, struct scb_error **err)
{
	static const struct argp_option opts[] = {
		{ "json", 'j', NULL, 0, "One JSON object per flag", 0 },
		{},
	};
	const struct argp argp = { .options = opts, .parser = flags_parse, .doc = flags_doc };
	char mnt[4096], cg[4200];
	uint32_t refused = 0;
	struct scb_node n;
	bool json = false;
	int ret;

	argp_parse(&argp, argc, argv, 0, NULL, &json);
	if (cgroup2_mount(mnt, sizeof(mnt), err))
		return -1;
	snprintf(cg, sizeof(cg), "%s/sockops-cb-probe-%d", mnt, getpid());
	if (mkdir(cg, 0700))
		return scb_error_set(err, SCB_ERR_CGROUP, "cannot create %s: %s", cg,
				     strerror(errno));
	ret = node_open(&n, NODE_CREATE, err);
	if (!ret) {
		ret = probe(&n, cg, &refused, err);
		node_close(&n);
	}
	rmdir(cg);
	if (ret)
		return scb_error_wrap(err, "probing flags");
	if (!json)
		printf("%-22s %-5s %s\n", "FLAG", "BIT", "SUPPORTED");
	print_flags(SCB_FLAGS_KNOWN & ~refused, json);
	return 0;
}
