// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* `sockops-cb serve --listen ADDR:PORT`: /metrics over HTTP with
 * libmicrohttpd. Every scrape reads the pinned maps; serve keeps no
 * state, so it can restart at any time. */
#include <argp.h>
#include <dlfcn.h>
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <microhttpd.h>
#include "cmd.h"
#include "metrics.h"

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define MHD_SONAME "libmicrohttpd.so.12"

/* libmicrohttpd and the TLS stack it pulls in cost every hook and CNI
 * call ~1.2 ms of dynamic linking (docs/performance.md): only `serve`
 * loads it, at run time. */
static struct {
	typeof(&MHD_start_daemon) start_daemon;
	typeof(&MHD_stop_daemon) stop_daemon;
	typeof(&MHD_create_response_from_buffer) create_response;
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
	mhd.add_header = dlsym(h, "MHD_add_response_header");
	mhd.queue_response = dlsym(h, "MHD_queue_response");
	mhd.destroy_response = dlsym(h, "MHD_destroy_response");
	if (!mhd.start_daemon || !mhd.stop_daemon || !mhd.create_response ||
	    !mhd.add_header || !mhd.queue_response || !mhd.destroy_response)
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

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *data,
			      size_t *data_size, void **state)
{
	struct scb_error *err = NULL;
	char *body = NULL;
	size_t len = 0;
	FILE *out;

	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
			     strdup("only GET\n"), 9);
	if (strcmp(url, "/metrics"))
		return reply(conn, MHD_HTTP_NOT_FOUND, "text/plain",
			     strdup("see /metrics\n"), 13);
	out = open_memstream(&body, &len);
	if (!out)
		return MHD_NO;
	if (metrics_write(out, &err)) {
		fclose(out);
		free(body);
		body = NULL;
		len = asprintf(&body, "%s\n", err && err->msg ? err->msg : "failed");
		scb_error_free(&err);
		return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", body, len);
	}
	fclose(out);
	return reply(conn, MHD_HTTP_OK, CONTENT_TYPE, body, len);
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
	if (host[0] == '[' && colon[-1] == ']') {
		colon[-1] = '\0';
		memmove(host, host + 1, strlen(host));
	}
	ret = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, ai);
	if (ret)
		return scb_error_set(err, SCB_ERR_INPUT, "--listen %s: %s", listen,
				     gai_strerror(ret));
	return 0;
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
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD;

	argp_parse(&argp, argc, argv, 0, NULL, &listen);
	if (mhd_load(err) || resolve(listen, &ai, err))
		return -1;
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	d = mhd.start_daemon(flags, 0, NULL, NULL, handle, NULL, MHD_OPTION_SOCK_ADDR,
			     ai->ai_addr, MHD_OPTION_CONNECTION_TIMEOUT, 10U, MHD_OPTION_END);
	freeaddrinfo(ai);
	if (!d)
		return scb_error_set(err, SCB_ERR_INPUT, "cannot listen on %s: %s", listen,
				     strerror(errno));
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	fprintf(stderr, "sockops-cb: serving http://%s/metrics\n", listen);
	while (!stop)
		pause();
	mhd.stop_daemon(d);
	return 0;
}
