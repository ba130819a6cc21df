// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/vfs.h>
#include <unistd.h>
#include "netns.h"
#include "text.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif
#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

/* A socket belongs to the netns it was made in: make one there, come
 * back, and ask it for the cookie. */
static int cookie_via_socket(int ns_fd, uint64_t *cookie, struct scb_error **err)
{
	socklen_t len = sizeof(*cookie);
	int self, sock = -1, ret = -1;

	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return scb_error_set(err, SCB_ERR_INTERNAL, "cannot open our netns: %s",
				     strerror(errno));
	if (setns(ns_fd, CLONE_NEWNET)) {
		scb_error_set(err, SCB_ERR_INTERNAL, "cannot enter the netns: %s", strerror(errno));
		goto out;
	}
	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (setns(self, CLONE_NEWNET)) {
		scb_error_set(err, SCB_ERR_INTERNAL, "cannot return to our netns: %s",
			      strerror(errno));
		goto out;
	}
	if (sock < 0 || getsockopt(sock, SOL_SOCKET, SO_NETNS_COOKIE, cookie, &len)) {
		scb_error_set(err, SCB_ERR_KERNEL, "cannot read the netns cookie: %s",
			      strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (sock >= 0)
		close(sock);
	close(self);
	return ret;
}

int netns_cookie(const char *path, uint64_t *cookie, struct scb_error **err)
{
	struct statfs sfs;
	char esc[300];
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return scb_error_set(err, SCB_ERR_ENV, "netns %s cannot be opened: %s",
				     text_escape(path, esc, sizeof(esc)), strerror(errno));
	if (fstatfs(fd, &sfs) || sfs.f_type != NSFS_MAGIC) {
		close(fd);
		return scb_error_set(err, SCB_ERR_ENV, "%s is not a network namespace",
				     text_escape(path, esc, sizeof(esc)));
	}
	ret = cookie ? cookie_via_socket(fd, cookie, err) : 0;
	close(fd);
	return ret;
}
