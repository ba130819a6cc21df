// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* ocistate.c: the OCI state a hook reads on stdin. */
#include <sys/stat.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "tap.h"
#include "ocistate.h"
#include <linux/types.h>
#include "sockops.h"

#define ID64 "3f1c1d3b8e2a4f6c9b0d7e5a1c2b3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e"

/* What podman hands a createRuntime hook (no trailing newline, so that
 * only the full text is a complete object). */
static const char podman_state[] =
	"{\"ociVersion\":\"1.0.2-dev\",\"id\":\"" ID64 "\",\"status\":\"created\","
	"\"pid\":4242,\"bundle\":\"/var/lib/containers/storage/overlay-containers/" ID64
	"/userdata\",\"annotations\":{\"io.container.manager\":\"libpod\","
	"\"org.opencontainers.image.stopSignal\":\"15\","
	"\"sockops-cb.io/flag-set\":\"full\"}}";

static int parse(const char *text, struct oci_state *st, struct scb_error **err)
{
	return oci_state_parse(text, strlen(text), st, err);
}

/* oci_state_parse(text) must fail with `code` and `want` in the message,
 * and leave nothing allocated. */
#define CHECK_STATE_ERR(text, code, want)                                     \
	do {                                                                  \
		struct oci_state st_;                                         \
		struct scb_error *e_ = NULL;                                  \
		CHECK_ERR(parse(text, &st_, &e_), e_, code);                  \
		CHECK(st_.root == NULL);                                      \
		CHECK_CONTAINS(e_->msg, want);                                \
		scb_error_free(&e_);                                          \
	} while (0)

static int test_podman_state(void)
{
	struct scb_error *err = NULL;
	struct oci_state st;
	const cJSON *v;

	CHECK_OK(parse(podman_state, &st, &err), err);
	CHECK(st.root);
	CHECK_STR(st.id, ID64);
	CHECK_INT(st.pid, 4242);
	CHECK(cJSON_IsObject(st.annotations));
	v = cJSON_GetObjectItemCaseSensitive(st.annotations, "sockops-cb.io/flag-set");
	CHECK(cJSON_IsString(v));
	CHECK_STR(v->valuestring, "full");
	oci_state_free(&st);
	CHECK(st.root == NULL);
	oci_state_free(&st);	/* twice is harmless */
	return 0;
}

static int test_poststop_no_pid(void)
{
	struct scb_error *err = NULL;
	struct oci_state st;

	CHECK_OK(parse("{\"ociVersion\":\"1.0.2\",\"id\":\"abc\",\"status\":\"stopped\","
		       "\"bundle\":\"/b\"}", &st, &err), err);
	CHECK_STR(st.id, "abc");
	CHECK_INT(st.pid, 0);
	CHECK(st.annotations == NULL);
	oci_state_free(&st);
	return 0;
}

static int test_annotations_null(void)
{
	struct scb_error *err = NULL;
	struct oci_state st;
	char name[SCB_NAME_LEN], ns[SCB_NAME_LEN], pod[SCB_NAME_LEN];

	CHECK_OK(parse("{\"id\":\"abc\",\"pid\":1,\"annotations\":null}", &st, &err), err);
	CHECK(st.annotations == NULL);
	memset(name, 'x', sizeof(name));
	oci_state_names(&st, name, ns, pod);
	CHECK_STR(name, "");
	CHECK_STR(ns, "");
	CHECK_STR(pod, "");
	oci_state_free(&st);
	return 0;
}

/* cJSON cuts a string at \u0000: the state says so. */
static int test_nul_in_a_string(void)
{
	static const char with_nul[] =
		"{\"id\":\"abc\",\"pid\":1,\"annotations\":{\"sockops-cb.io/flags\":\"RTT\\u0000X\"}}";
	struct scb_error *err = NULL;
	struct oci_state st;

	CHECK_OK(parse(with_nul, &st, &err), err);
	CHECK(st.has_nul);
	oci_state_free(&st);
	CHECK_OK(parse("{\"id\":\"abc\",\"pid\":1,\"annotations\":{\"a\":\"\\u0001\"}}", &st, &err),
		 err);
	CHECK(!st.has_nul);
	oci_state_free(&st);
	return 0;
}

static int test_bad_id(void)
{
	char json[512];

	CHECK_STATE_ERR("{\"id\":\"a/b\",\"pid\":1}", SCB_ERR_INPUT, "container id \"a/b\"");
	CHECK_STATE_ERR("{\"id\":\"..\",\"pid\":1}", SCB_ERR_INPUT, "container id \"..\"");
	CHECK_STATE_ERR("{\"id\":\"../../etc\",\"pid\":1}", SCB_ERR_INPUT, "is not 1-128 characters");
	CHECK_STATE_ERR("{\"id\":\"\",\"pid\":1}", SCB_ERR_INPUT, "container id \"\"");
	CHECK_STATE_ERR("{\"id\":\"a\\nb\",\"pid\":1}", SCB_ERR_INPUT, "container id \"a\\x0ab\"");
	snprintf(json, sizeof(json), "{\"id\":\"%0200d\",\"pid\":1}", 7);
	CHECK_STATE_ERR(json, SCB_ERR_INPUT, "is not 1-128 characters");
	return 0;
}

static int test_id_missing_or_not_string(void)
{
	CHECK_STATE_ERR("{\"pid\":1}", SCB_ERR_DECODE, "no string \"id\"");
	CHECK_STATE_ERR("{\"id\":42,\"pid\":1}", SCB_ERR_DECODE, "no string \"id\"");
	CHECK_STATE_ERR("{\"id\":null}", SCB_ERR_DECODE, "no string \"id\"");
	return 0;
}

static int test_bad_pid(void)
{
	CHECK_STATE_ERR("{\"id\":\"abc\",\"pid\":\"4242\"}", SCB_ERR_DECODE, "\"pid\" is not a number");
	CHECK_STATE_ERR("{\"id\":\"abc\",\"pid\":null}", SCB_ERR_DECODE, "\"pid\" is not a number");
	CHECK_STATE_ERR("{\"id\":\"abc\",\"pid\":-1}", SCB_ERR_DECODE, "\"pid\" is out of range");
	CHECK_STATE_ERR("{\"id\":\"abc\",\"pid\":1e20}", SCB_ERR_DECODE, "\"pid\" is out of range");
	CHECK_STATE_ERR("{\"id\":\"abc\",\"pid\":2147483648}", SCB_ERR_DECODE, "out of range");
	CHECK_STATE_ERR("{\"id\":\"abc\",\"pid\":12.5}", SCB_ERR_DECODE, "out of range");
	return 0;
}

static int test_pid_limits(void)
{
	struct scb_error *err = NULL;
	struct oci_state st;

	CHECK_OK(parse("{\"id\":\"abc\",\"pid\":2147483647}", &st, &err), err);
	CHECK_INT(st.pid, 2147483647);
	oci_state_free(&st);
	CHECK_OK(parse("{\"id\":\"abc\",\"pid\":0}", &st, &err), err);
	CHECK_INT(st.pid, 0);
	oci_state_free(&st);
	return 0;
}

static int test_not_an_object(void)
{
	CHECK_STATE_ERR("", SCB_ERR_DECODE, "not a JSON object");
	CHECK_STATE_ERR("[]", SCB_ERR_DECODE, "not a JSON object");
	CHECK_STATE_ERR("null", SCB_ERR_DECODE, "not a JSON object");
	CHECK_STATE_ERR("\"id\"", SCB_ERR_DECODE, "not a JSON object");
	return 0;
}

/* Every prefix of a valid state is an error, never a crash or a read
 * past the end (the copy has no NUL after it: valgrind sees over-reads). */
static int test_truncated_everywhere(void)
{
	size_t len = strlen(podman_state), n;
	struct scb_error *err = NULL;
	struct oci_state st;
	char *buf;
	int ret;

	for (n = 0; n <= len; n++) {
		buf = malloc(n ? n : 1);
		CHECK(buf);
		memcpy(buf, podman_state, n);
		ret = oci_state_parse(buf, n, &st, &err);
		free(buf);
		if (n < len && (ret >= 0 || !err)) {
			tap_diag("prefix of %zu/%zu bytes was accepted", n, len);
			oci_state_free(&st);
			return -1;
		}
		if (n < len && st.root) {
			tap_diag("prefix of %zu bytes: root left allocated", n);
			return -1;
		}
		if (n == len && ret < 0) {
			tap_diag("the full state failed: %s", err ? tap_show(err->msg) : "?");
			scb_error_free(&err);
			return -1;
		}
		scb_error_free(&err);
	}
	CHECK_STR(st.id, ID64);
	oci_state_free(&st);
	return 0;
}

static int test_read_stream(void)
{
	struct scb_error *err = NULL;
	struct oci_state st;
	FILE *f = fmemopen((void *)podman_state, strlen(podman_state), "r");

	CHECK(f);
	CHECK_OK(oci_state_read(f, &st, &err), err);
	fclose(f);
	CHECK_STR(st.id, ID64);
	CHECK_INT(st.pid, 4242);
	oci_state_free(&st);

	f = fmemopen((void *)"", 0, "r");
	CHECK(f);
	CHECK_ERR(oci_state_read(f, &st, &err), err, SCB_ERR_DECODE);
	fclose(f);
	scb_error_free(&err);
	return 0;
}

static int names_of(const char *json, char *name, char *ns, char *pod)
{
	struct scb_error *err = NULL;
	struct oci_state st;

	memset(name, 'x', SCB_NAME_LEN);
	memset(ns, 'x', SCB_NAME_LEN);
	memset(pod, 'x', SCB_NAME_LEN);
	CHECK_OK(parse(json, &st, &err), err);
	oci_state_names(&st, name, ns, pod);
	oci_state_free(&st);
	return 0;
}

static int test_names_crio(void)
{
	char name[SCB_NAME_LEN], ns[SCB_NAME_LEN], pod[SCB_NAME_LEN];

	if (names_of("{\"id\":\"abc\",\"pid\":1,\"annotations\":{"
		     "\"io.kubernetes.container.name\":\"nginx\","
		     "\"io.kubernetes.pod.namespace\":\"shop\","
		     "\"io.kubernetes.pod.name\":\"web-7d9f\"}}", name, ns, pod))
		return -1;
	CHECK_STR(name, "nginx");
	CHECK_STR(ns, "shop");
	CHECK_STR(pod, "web-7d9f");
	return 0;
}

static int test_names_containerd(void)
{
	char name[SCB_NAME_LEN], ns[SCB_NAME_LEN], pod[SCB_NAME_LEN];

	if (names_of("{\"id\":\"abc\",\"pid\":1,\"annotations\":{"
		     "\"io.kubernetes.cri.container-type\":\"container\","
		     "\"io.kubernetes.cri.container-name\":\"redis\","
		     "\"io.kubernetes.cri.sandbox-namespace\":\"cache\","
		     "\"io.kubernetes.cri.sandbox-name\":\"redis-0\"}}", name, ns, pod))
		return -1;
	CHECK_STR(name, "redis");
	CHECK_STR(ns, "cache");
	CHECK_STR(pod, "redis-0");
	return 0;
}

/* podman puts no name in the state: it comes from containers/storage's
 * index, <graphroot>/overlay-containers/containers.json, found from the
 * bundle <graphroot>/overlay-containers/<id>/userdata. */
static int podman_names(const char *index, const char *bundle_id, char *name)
{
	char dir[] = "/tmp/scb-unit-storage.XXXXXX", sub[64], path[128], json[1024];
	char ns[SCB_NAME_LEN], pod[SCB_NAME_LEN];
	FILE *f = NULL;
	int ret = -1;

	CHECK(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/overlay-containers", dir);
	snprintf(path, sizeof(path), "%s/containers.json", sub);
	if (mkdir(sub, 0700) || !(f = fopen(path, "w"))) {
		tap_diag("cannot create %s", path);
		goto out;
	}
	fputs(index, f);
	fclose(f);
	snprintf(json, sizeof(json), "{\"id\":\"" ID64 "\",\"pid\":1,"
		 "\"bundle\":\"%s/%s/userdata\","
		 "\"annotations\":{\"io.container.manager\":\"libpod\"}}", sub, bundle_id);
	ret = names_of(json, name, ns, pod);
out:
	unlink(path);
	rmdir(sub);
	rmdir(dir);
	if (ret)
		return ret;
	CHECK_STR(ns, "");
	CHECK_STR(pod, "");
	return 0;
}

static int test_names_podman(void)
{
	char name[SCB_NAME_LEN];

	if (podman_names("[{\"id\":\"0000\",\"names\":[\"other\"]},"
			 "{\"id\":\"" ID64 "\",\"names\":[\"web\",\"alias\"],"
			 "\"layer\":\"abc\"}]", ID64, name))
		return -1;
	CHECK_STR(name, "web");

	/* non-printables in the stored name are replaced too */
	if (podman_names("[{\"id\":\"" ID64 "\",\"names\":[\"w\\u001beb\"]}]", ID64, name))
		return -1;
	CHECK_STR(name, "w?eb");
	return 0;
}

/* No name when the bundle is not this container's, or the index is not
 * what containers/storage writes. */
static int test_names_podman_mismatch(void)
{
	char name[SCB_NAME_LEN];

	if (podman_names("[{\"id\":\"" ID64 "\",\"names\":[\"web\"]}]", "otherid", name))
		return -1;
	CHECK_STR(name, "");
	if (podman_names("[{\"id\":\"0000\",\"names\":[\"web\"]}]", ID64, name))
		return -1;
	CHECK_STR(name, "");
	if (podman_names("[{\"id\":\"" ID64 "\",\"names\":\"web\"}]", ID64, name))
		return -1;
	CHECK_STR(name, "");
	if (podman_names("{\"id\":\"" ID64 "\",\"names\":[\"web\"]}", ID64, name))
		return -1;
	CHECK_STR(name, "");
	if (podman_names("[{\"id\":\"" ID64 "\",\"names\":[\"we", ID64, name))
		return -1;
	CHECK_STR(name, "");
	return 0;
}

/* The CRI-O key wins over containerd's; an empty value falls through. */
static int test_names_precedence(void)
{
	char name[SCB_NAME_LEN], ns[SCB_NAME_LEN], pod[SCB_NAME_LEN];

	if (names_of("{\"id\":\"abc\",\"annotations\":{"
		     "\"io.kubernetes.cri.container-name\":\"second\","
		     "\"io.kubernetes.container.name\":\"first\","
		     "\"io.kubernetes.pod.namespace\":\"\","
		     "\"io.kubernetes.cri.sandbox-namespace\":\"fallback\","
		     "\"io.kubernetes.pod.name\":5,"
		     "\"io.kubernetes.cri.sandbox-name\":\"pod2\"}}", name, ns, pod))
		return -1;
	CHECK_STR(name, "first");
	CHECK_STR(ns, "fallback");
	CHECK_STR(pod, "pod2");
	return 0;
}

static int test_names_sanitized(void)
{
	char name[SCB_NAME_LEN], ns[SCB_NAME_LEN], pod[SCB_NAME_LEN];
	char json[512];

	if (names_of("{\"id\":\"abc\",\"annotations\":{"
		     "\"io.kubernetes.container.name\":\"a\\u001b[31mb\\n\","
		     "\"io.kubernetes.pod.namespace\":\"caf\\u00e9\","
		     "\"io.kubernetes.pod.name\":\"tab\\there\\u007f\"}}", name, ns, pod))
		return -1;
	CHECK_STR(name, "a?[31mb?");
	CHECK_STR(ns, "caf??");
	CHECK_STR(pod, "tab?here?");

	/* longer than the field: cut to SCB_NAME_LEN - 1 */
	snprintf(json, sizeof(json), "{\"id\":\"abc\",\"annotations\":{"
		 "\"io.kubernetes.container.name\":\"%0100d\"}}", 0);
	if (names_of(json, name, ns, pod))
		return -1;
	CHECK_INT(strlen(name), SCB_NAME_LEN - 1);
	CHECK(strspn(name, "0") == SCB_NAME_LEN - 1);
	return 0;
}

/* Annotations of the wrong JSON type give no names (and no crash). */
static int test_names_annotations_not_object(void)
{
	char name[SCB_NAME_LEN], ns[SCB_NAME_LEN], pod[SCB_NAME_LEN];

	if (names_of("{\"id\":\"abc\",\"annotations\":[\"io.kubernetes.container.name\"]}",
		     name, ns, pod))
		return -1;
	CHECK_STR(name, "");
	if (names_of("{\"id\":\"abc\",\"annotations\":\"io.kubernetes.container.name\"}",
		     name, ns, pod))
		return -1;
	CHECK_STR(name, "");
	CHECK_STR(pod, "");
	return 0;
}

int main(void)
{
	RUN_TEST(test_podman_state);
	RUN_TEST(test_poststop_no_pid);
	RUN_TEST(test_annotations_null);
	RUN_TEST(test_nul_in_a_string);
	RUN_TEST(test_bad_id);
	RUN_TEST(test_id_missing_or_not_string);
	RUN_TEST(test_bad_pid);
	RUN_TEST(test_pid_limits);
	RUN_TEST(test_not_an_object);
	RUN_TEST(test_truncated_everywhere);
	RUN_TEST(test_read_stream);
	RUN_TEST(test_names_crio);
	RUN_TEST(test_names_containerd);
	RUN_TEST(test_names_podman);
	RUN_TEST(test_names_podman_mismatch);
	RUN_TEST(test_names_precedence);
	RUN_TEST(test_names_sanitized);
	RUN_TEST(test_names_annotations_not_object);
	return tap_done();
}
