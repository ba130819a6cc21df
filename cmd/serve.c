// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* `sockops-cb serve --listen ADDR:PORT`: /metrics over HTTP with
 * libmicrohttpd. Every scrape reads the pinned maps; serve keeps no
 * state, so it can restart at any time. */
#include <argp.h>
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <microhttpd.h>
#include "cmd.h"
#include "prometheus.h"

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define MHD_SONAME "libmicrohttpd.so.12"

/* libmicrohttpd and the TLS stack it pulls in cost every hook and CNI
 * call ~1.2 ms of dynamic linking (docs/performance.md): only `serve`
 * loads it, at run time. */
static struct {
	typeof(&MHD_start_daemon) start_daemon;
	typeof(&MHD_stop_daemon) stop_daemon;
	typeof(&MHD_create_response_from_buffer) create_response;
	typeof(&MHD_create_response_from_buffer_with_free_callback) create_response_cb;
	typeof(&MHD_add_response_header) add_header;
	typeof(&MHD_queue_response) queue_response;
	typeof(&MHD_destroy_response) destroy_response;
} mhd;

static int mhd_load(struct scb_error **err)
{
	void *h = dlopen(MHD_SONAME, RTLD_NOW | RTLD_LOCAL);

	if (!h)
		return scb_error_set(err, SCB_ERR_INTERNAL,
				     "serve needs libmicrohttpd (apt-get install libmicrohttpd12): %s",
				     dlerror());
	mhd.start_daemon = dlsym(h, "MHD_start_daemon");
	mhd.stop_daemon = dlsym(h, "MHD_stop_daemon");
	mhd.create_response = dlsym(h, "MHD_create_response_from_buffer");
	mhd.create_response_cb = dlsym(h, "MHD_create_response_from_buffer_with_free_callback");
	mhd.add_header = dlsym(h, "MHD_add_response_header");
	mhd.queue_response = dlsym(h, "MHD_queue_response");
	mhd.destroy_response = dlsym(h, "MHD_destroy_response");
	if (!mhd.start_daemon || !mhd.stop_daemon || !mhd.create_response ||
	    !mhd.create_response_cb || !mhd.add_header || !mhd.queue_response || !mhd.destroy_response)
		return scb_error_set(err, SCB_ERR_INTERNAL, "%s lacks a function serve needs",
				     MHD_SONAME);
	return 0;
}

static volatile sig_atomic_t stop;

static const char serve_doc[] =
	"Serve the metrics for Prometheus at http://ADDR:PORT/metrics.\n"
	"\n"
	"EXAMPLES:\n"
	"    sockops-cb serve --listen 127.0.0.1:9464\n"
	"    sockops-cb serve --listen [::]:9464";

static error_t serve_parse(int key, char *arg, struct argp_state *state)
{
	const char **listen = state->input;

	if (key != 'l')
		return ARGP_ERR_UNKNOWN;
	*listen = arg;
	return 0;
}

static void on_signal(int sig)
{
	stop = 1;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned int status,
			     const char *type, char *body, size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = mhd.create_response(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	mhd.add_header(r, "Content-Type", type);
	ret = mhd.queue_response(conn, status, r);
	mhd.destroy_response(r);
	return ret;
}

/* The body of a scrape: ~17 MB at 1000 containers. A new buffer per
 * scrape (open_memstream grows by copying and zero-filling) cost more
 * page faults than writing the text does; so the last body's buffer is
 * kept for the next scrape (one spare, whatever thread MHD frees it on),
 * and grows by realloc, which moves large blocks without copying. */
static char *spare_body;

struct body {
	char *buf;
	size_t len, cap;
};

static ssize_t body_write(void *cookie, const char *data, size_t n)
{
	struct body *b = cookie;
	size_t cap = b->cap ? b->cap : 1 << 20;
	char *p;

	while (cap - b->len < n)
		cap *= 2;
	if (cap != b->cap) {
		p = realloc(b->buf, cap);
		if (!p)
			return -1;
		b->buf = p;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, data, n);
	b->len += n;
	return n;
}

static void body_release(void *buf)
{
	char *none = NULL;

	if (!__atomic_compare_exchange_n(&spare_body, &none, buf, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		free(buf);
}

static FILE *body_open(struct body *b)
{
	static const cookie_io_functions_t io = { .write = body_write };

	b->buf = __atomic_exchange_n(&spare_body, NULL, __ATOMIC_ACQ_REL);
	b->cap = b->buf ? malloc_usable_size(b->buf) : 0;
	b->len = 0;
	return fopencookie(b, "w", io);
}

static enum MHD_Result reply_metrics(struct MHD_Connection *conn, struct body *b)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = mhd.create_response_cb(b->len, b->buf, body_release);
	if (!r) {
		body_release(b->buf);
		return MHD_NO;
	}
	mhd.add_header(r, "Content-Type", CONTENT_TYPE);
	ret = mhd.queue_response(conn, MHD_HTTP_OK, r);
	mhd.destroy_response(r);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *data,
			      size_t *data_size, void **state)
{
	struct scb_error *err = NULL;
	struct body b;
	char *msg;
	int len, ret;
	FILE *out;

	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
			     strdup("only GET\n"), 9);
	if (strcmp(url, "/metrics"))
		return reply(conn, MHD_HTTP_NOT_FOUND, "text/plain",
			     strdup("see /metrics\n"), 13);
	out = body_open(&b);
	if (!out) {
		body_release(b.buf);
		return MHD_NO;
	}
	ret = metrics_write(out, &err);
	if (fclose(out))	/* the last write, flushed: ENOMEM shows here */
		ret = -1;
	if (ret) {
		body_release(b.buf);
		len = asprintf(&msg, "%s\n", err && err->msg ? err->msg : "out of memory");
		scb_error_free(&err);
		if (len < 0)
			return MHD_NO;
		return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", msg, len);
	}
	return reply_metrics(conn, &b);
}

/* "127.0.0.1:9464", "[::1]:9464", ":9464" (all addresses). */
static int resolve(const char *listen, struct addrinfo **ai, struct scb_error **err)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE |
				  AI_NUMERICHOST | AI_NUMERICSERV };
	char host[256], *colon;
	int ret;

	if (snprintf(host, sizeof(host), "%s", listen) >= (int)sizeof(host))
		return scb_error_set(err, SCB_ERR_INPUT, "--listen is too long");
	colon = strrchr(host, ':');
	if (!colon)
		return scb_error_set(err, SCB_ERR_INPUT,
				     "--listen wants ADDR:PORT, e.g. 127.0.0.1:9464, not \"%s\"", listen);
	*colon = '\0';
	if (!colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
	    strlen(colon + 1) > 5 || atoi(colon + 1) > 65535)
		return scb_error_set(err, SCB_ERR_INPUT,
				     "--listen %s: the port must be a number from 0 to 65535 (0: any free one)",
				     listen);
	if (host[0] == '[' && colon > host && colon[-1] == ']') {
		colon[-1] = '\0';
		memmove(host, host + 1, strlen(host));
	}
	ret = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, ai);
	if (ret)
		return scb_error_set(err, SCB_ERR_INPUT, "--listen %s: %s", listen,
				     gai_strerror(ret));
	return 0;
}

/* Our own listening socket: its bind error is the one the user needs,
 * and getsockname says which port :0 got. */
static int listen_socket(const struct addrinfo *ai, const char *where, struct scb_error **err)
{
	int one = 1, fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return scb_error_set(err, SCB_ERR_INTERNAL, "socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 128)) {
		scb_error_set(err, SCB_ERR_INPUT, "cannot listen on %s: %s", where, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* "ADDR:PORT" as bound, IPv6 in brackets. */
static void bound_address(int fd, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (!getsockname(fd, (struct sockaddr *)&ss, &sl) && ss.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, host, sizeof(host));
		port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
		snprintf(buf, len, "[%s]:%d", host, port);
		return;
	}
	if (ss.ss_family == AF_INET) {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host, sizeof(host));
		port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	}
	snprintf(buf, len, "%s:%d", host, port);
}

/* Idle clients cannot starve a scrape: they are dropped after
 * IDLE_TIMEOUT_S, and the descriptors allow MAX_CONNECTIONS at once. */
#define IDLE_TIMEOUT_S	5U
#define MAX_CONNECTIONS	8192U

static void raise_nofile(void)
{
	struct rlimit r;

	if (!getrlimit(RLIMIT_NOFILE, &r) && r.rlim_cur < r.rlim_max) {
		r.rlim_cur = r.rlim_max < MAX_CONNECTIONS + 64 ? r.rlim_max : MAX_CONNECTIONS + 64;
		setrlimit(RLIMIT_NOFILE, &r);
	}
}

int cmd_serve(int argc, char **argv, struct scb_error **err)
{
	static const struct argp_option opts[] = {
		{ "listen", 'l', "ADDR:PORT", 0, "Where to listen (default 127.0.0.1:9464)", 0 },
		{},
	};
	const struct argp argp = { .options = opts, .parser = serve_parse, .doc = serve_doc };
	const char *listen = "127.0.0.1:9464";
	struct MHD_Daemon *d;
	struct addrinfo *ai;
	/* epoll: select() would stop at 1024 descriptors. */
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL;
	char bound[INET6_ADDRSTRLEN + 16];
	int fd;

	argp_parse(&argp, argc, argv, 0, NULL, &listen);
	if (mhd_load(err) || resolve(listen, &ai, err))
		return -1;
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	raise_nofile();
	fd = listen_socket(ai, listen, err);
	freeaddrinfo(ai);
	if (fd < 0)
		return -1;
	d = mhd.start_daemon(flags, 0, NULL, NULL, handle, NULL, MHD_OPTION_LISTEN_SOCKET, fd,
			     MHD_OPTION_CONNECTION_TIMEOUT, IDLE_TIMEOUT_S,
			     MHD_OPTION_CONNECTION_LIMIT, MAX_CONNECTIONS, MHD_OPTION_END);
	if (!d) {
		close(fd);
		return scb_error_set(err, SCB_ERR_INTERNAL, "cannot start the HTTP server on %s",
				     listen);
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	bound_address(fd, bound, sizeof(bound));
	fprintf(stderr, "sockops-cb: serving http://%s/metrics\n", bound);
	while (!stop)
		pause();
	mhd.stop_daemon(d);
	return 0;
}
