// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* config.c: the admin's config and the tenant's annotations against it. */
#include <unistd.h>
#include <cjson/cJSON.h>
#include "tap.h"
#include "config.h"

#define RTO SCB_FLAG_RTO
#define RETRANS SCB_FLAG_RETRANS
#define STATE SCB_FLAG_STATE
#define RTT SCB_FLAG_RTT
#define WRITE_HDR SCB_FLAG_WRITE_HDR_OPT

/* The example an admin would write, as a conflist entry. */
static const char valid_config[] =
	"{\"cniVersion\":\"1.0.0\",\"name\":\"podman\",\"type\":\"sockops-cb\","
	" \"flagSets\":{\"basic\":[\"RTT\",\"STATE\"],"
	"              \"full\":[\"RTO\",\"RETRANS\",\"STATE\",\"RTT\"],"
	"              \"hdr\":[\"WRITE_HDR_OPT\"]},"
	" \"defaultFlagSet\":\"basic\","
	" \"maxFlags\":[\"RTO\",\"RETRANS\",\"STATE\",\"RTT\",\"WRITE_HDR_OPT\"],"
	" \"onError\":\"ignore\",\"retainStats\":true}";

static struct scb_config cfg;

static int parse(const char *text, struct scb_error **err)
{
	return config_parse(text, strlen(text), &cfg, err);
}

/* config_parse(text) must fail with `code` and a message holding `want`. */
#define CHECK_PARSE_ERR(text, code, want)                                     \
	do {                                                                  \
		struct scb_error *e_ = NULL;                                  \
		CHECK_ERR(parse(text, &e_), e_, code);                        \
		CHECK_CONTAINS(e_->msg, want);                                \
		scb_error_free(&e_);                                          \
	} while (0)

/* An annotations object from JSON text; NULL text gives NULL. */
static cJSON *ann(const char *json)
{
	return json ? cJSON_Parse(json) : NULL;
}

static int load_valid(void)
{
	struct scb_error *err = NULL;

	CHECK_OK(parse(valid_config, &err), err);
	return 0;
}

/* No byte of an error message may be a control character. */
static int check_printable(const char *msg)
{
	const unsigned char *p;

	for (p = (const unsigned char *)msg; *p; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			tap_diag("raw byte 0x%02x in message \"%s\"", *p, tap_show(msg));
			return -1;
		}
	}
	return 0;
}

/* ---- config ---- */

static int test_valid(void)
{
	struct scb_error *err = NULL;

	CHECK_OK(parse(valid_config, &err), err);
	CHECK_INT(cfg.n_sets, 3);
	CHECK_STR(cfg.sets[0].name, "basic");
	CHECK_INT(cfg.sets[0].mask, RTT | STATE);
	CHECK_STR(cfg.sets[1].name, "full");
	CHECK_INT(cfg.sets[1].mask, RTO | RETRANS | STATE | RTT);
	CHECK_STR(cfg.sets[2].name, "hdr");
	CHECK_INT(cfg.sets[2].mask, WRITE_HDR);
	CHECK_INT(cfg.default_set, 0);
	CHECK_INT(cfg.max_flags, RTO | RETRANS | STATE | RTT | WRITE_HDR);
	CHECK_INT(cfg.on_error, SCB_ON_ERROR_IGNORE);
	CHECK_INT(cfg.retain_stats, true);
	CHECK(config_find_set(&cfg, "full") == &cfg.sets[1]);
	CHECK(config_find_set(&cfg, "Full") == NULL);
	CHECK(config_find_set(&cfg, "nope") == NULL);
	return 0;
}

static int test_defaults(void)
{
	struct scb_error *err = NULL;

	memset(&cfg, 0xff, sizeof(cfg));
	config_defaults(&cfg);
	CHECK_INT(cfg.n_sets, 0);
	CHECK_INT(cfg.default_set, -1);
	CHECK_INT(cfg.max_flags, RTO | RETRANS | STATE | RTT);
	CHECK_INT(cfg.on_error, SCB_ON_ERROR_FAIL);
	CHECK_INT(cfg.retain_stats, false);

	/* "{}" is the same as no config at all */
	memset(&cfg, 0xff, sizeof(cfg));
	CHECK_OK(parse("{}", &err), err);
	CHECK_INT(cfg.n_sets, 0);
	CHECK_INT(cfg.default_set, -1);
	CHECK_INT(cfg.max_flags, RTO | RETRANS | STATE | RTT);
	CHECK_INT(cfg.on_error, SCB_ON_ERROR_FAIL);
	CHECK_INT(cfg.retain_stats, false);
	return 0;
}

static int test_on_error_and_retain(void)
{
	struct scb_error *err = NULL;

	CHECK_OK(parse("{\"onError\":\"fail\",\"retainStats\":false}", &err), err);
	CHECK_INT(cfg.on_error, SCB_ON_ERROR_FAIL);
	CHECK_INT(cfg.retain_stats, false);
	CHECK_OK(parse("{\"onError\":\"ignore\"}", &err), err);
	CHECK_INT(cfg.on_error, SCB_ON_ERROR_IGNORE);
	CHECK_OK(parse("{\"defaultFlagSet\":null}", &err), err);
	CHECK_INT(cfg.default_set, -1);
	return 0;
}

static int test_malformed_json(void)
{
	CHECK_PARSE_ERR("{", SCB_ERR_DECODE, "not valid JSON");
	CHECK_PARSE_ERR("", SCB_ERR_DECODE, "not valid JSON");
	CHECK_PARSE_ERR("{\"flagSets\":{\"a\":[\"RTT\",]}}", SCB_ERR_DECODE, "not valid JSON");
	CHECK_PARSE_ERR("{'flagSets':{}}", SCB_ERR_DECODE, "near byte");
	return 0;
}

/* Like a duplicate key, a second object after the first would be ignored
 * without a word: refuse anything but whitespace after the config. */
static int test_trailing_garbage(void)
{
	struct scb_error *err = NULL;

	CHECK_OK(parse("{\"onError\":\"ignore\"}\n\t \n", &err), err);
	CHECK_PARSE_ERR("{\"maxFlags\":[\"RTT\"]}{\"maxFlags\":[\"RTO\"]}", SCB_ERR_DECODE,
			"not valid JSON");
	CHECK_PARSE_ERR("{} xyz", SCB_ERR_DECODE, "not valid JSON");
	CHECK_PARSE_ERR("{\"flagSets\":{}}]", SCB_ERR_DECODE, "not valid JSON");
	return 0;
}

static int test_not_an_object(void)
{
	CHECK_PARSE_ERR("[]", SCB_ERR_CONFIG, "config must be a JSON object");
	CHECK_PARSE_ERR("\"flagSets\"", SCB_ERR_CONFIG, "config must be a JSON object");
	CHECK_PARSE_ERR("null", SCB_ERR_CONFIG, "config must be a JSON object");
	return 0;
}

static int test_unknown_flag(void)
{
	struct scb_error *err = NULL;

	CHECK(parse("{\"flagSets\":{\"full\":[\"RTO\",\"RTX\"]}}", &err) < 0);
	CHECK(err && err->msg);
	CHECK_STR(err->msg, "unknown flag \"RTX\" in flagSets.full (known: RTO RETRANS STATE RTT "
		  "PARSE_ALL_HDR_OPT PARSE_UNKNOWN_HDR_OPT WRITE_HDR_OPT)");
	scb_error_free(&err);
	CHECK(parse("{\"maxFlags\":[\"RTT\",\"SYN\"]}", &err) < 0);
	CHECK(err && err->msg);
	CHECK_CONTAINS(err->msg, "unknown flag \"SYN\" in maxFlags");
	scb_error_free(&err);
	return 0;
}

/* Every other mistake in the config file is SCB_ERR_CONFIG (CNI code 7,
 * "invalid network config"); an unknown flag name there is one too. */
static int test_unknown_flag_code(void)
{
	CHECK_PARSE_ERR("{\"flagSets\":{\"full\":[\"RTO\",\"RTX\"]}}", SCB_ERR_CONFIG,
			"unknown flag \"RTX\" in flagSets.full (known: RTO RETRANS STATE RTT "
			"PARSE_ALL_HDR_OPT PARSE_UNKNOWN_HDR_OPT WRITE_HDR_OPT)");
	CHECK_PARSE_ERR("{\"maxFlags\":[\"RTT\",\"SYN\"]}", SCB_ERR_CONFIG,
			"unknown flag \"SYN\" in maxFlags");
	return 0;
}

static int test_unknown_key(void)
{
	CHECK_PARSE_ERR("{\"flagSets\":{\"a\":[\"RTT\"]},\"defaultFlagset\":\"a\"}",
			SCB_ERR_CONFIG, "unknown key \"defaultFlagset\" in config (known: flagSets");
	CHECK_PARSE_ERR("{\"maxflags\":[]}", SCB_ERR_CONFIG, "unknown key \"maxflags\"");
	return 0;
}

static int test_unknown_key_escaped(void)
{
	struct scb_error *err = NULL;

	CHECK_ERR(parse("{\"evil\\u001b[2J\":1}", &err), err, SCB_ERR_CONFIG);
	CHECK_CONTAINS(err->msg, "unknown key \"evil\\x1b[2J\"");
	if (check_printable(err->msg))
		return -1;
	scb_error_free(&err);
	return 0;
}

static int test_cni_keys(void)
{
	struct scb_error *err = NULL;

	CHECK_OK(parse("{\"cniVersion\":\"1.0.0\",\"name\":\"net\",\"type\":\"sockops-cb\","
		       "\"prevResult\":{\"interfaces\":[{\"name\":\"eth0\"}],\"ips\":[]},"
		       "\"runtimeConfig\":{\"portMappings\":[]},\"capabilities\":{},"
		       "\"args\":{},\"ipam\":{},\"dns\":{},\"cni.dev/valid-attachments\":[],"
		       "\"flagSets\":{\"a\":[\"RTT\"]},\"defaultFlagSet\":\"a\"}", &err), err);
	CHECK_INT(cfg.n_sets, 1);
	CHECK_INT(cfg.default_set, 0);
	return 0;
}

static int test_duplicate_keys(void)
{
	CHECK_PARSE_ERR("{\"maxFlags\":[\"RTT\"],\"maxFlags\":[\"RTO\",\"RTT\"]}",
			SCB_ERR_CONFIG, "duplicate key \"maxFlags\" in config");
	CHECK_PARSE_ERR("{\"flagSets\":{\"a\":[\"RTT\"],\"b\":[],\"a\":[\"RTO\"]}}",
			SCB_ERR_CONFIG, "duplicate key \"a\" in flagSets");
	/* CNI keys too: a runtime would not send them twice */
	CHECK_PARSE_ERR("{\"type\":\"x\",\"type\":\"y\"}", SCB_ERR_CONFIG, "duplicate key \"type\"");
	return 0;
}

static int test_flag_sets_not_object(void)
{
	CHECK_PARSE_ERR("{\"flagSets\":[\"RTT\"]}", SCB_ERR_CONFIG, "flagSets must be an object");
	CHECK_PARSE_ERR("{\"flagSets\":\"full\"}", SCB_ERR_CONFIG, "flagSets must be an object");
	CHECK_PARSE_ERR("{\"flagSets\":null}", SCB_ERR_CONFIG, "flagSets must be an object");
	CHECK_PARSE_ERR("{\"flagSets\":{\"a\":\"RTT\"}}", SCB_ERR_CONFIG,
			"flagSets.a must be an array of flag names");
	CHECK_PARSE_ERR("{\"flagSets\":{\"a\":[1]}}", SCB_ERR_CONFIG, "only strings");
	return 0;
}

static int test_set_name_invalid(void)
{
	struct scb_error *err = NULL;

	CHECK_PARSE_ERR("{\"flagSets\":{\"my set\":[\"RTT\"]}}", SCB_ERR_CONFIG,
			"flag set name \"my set\" must be 1-31 characters");
	CHECK_PARSE_ERR("{\"flagSets\":{\"\":[\"RTT\"]}}", SCB_ERR_CONFIG, "flag set name \"\"");
	CHECK_PARSE_ERR("{\"flagSets\":{\"a/b\":[\"RTT\"]}}", SCB_ERR_CONFIG, "flag set name");
	CHECK_PARSE_ERR("{\"flagSets\":{\"abcdefghijklmnopqrstuvwxyz012345\":[]}}",
			SCB_ERR_CONFIG, "must be 1-31 characters");
	CHECK_OK(parse("{\"flagSets\":{\"abcdefghijklmnopqrstuvwxyz01234\":[]}}", &err), err);
	CHECK_STR(cfg.sets[0].name, "abcdefghijklmnopqrstuvwxyz01234");

	CHECK_ERR(parse("{\"flagSets\":{\"a\\nb\\u0007\":[]}}", &err), err, SCB_ERR_CONFIG);
	CHECK_CONTAINS(err->msg, "\"a\\x0ab\\x07\"");
	if (check_printable(err->msg))
		return -1;
	scb_error_free(&err);
	return 0;
}

static int test_default_set_missing(void)
{
	CHECK_PARSE_ERR("{\"flagSets\":{\"basic\":[\"RTT\"]},\"defaultFlagSet\":\"full\"}",
			SCB_ERR_CONFIG, "defaultFlagSet \"full\" is not in flagSets");
	CHECK_PARSE_ERR("{\"defaultFlagSet\":\"full\"}", SCB_ERR_CONFIG,
			"defaultFlagSet \"full\" is not in flagSets");
	CHECK_PARSE_ERR("{\"flagSets\":{\"basic\":[\"RTT\"]},\"defaultFlagSet\":0}",
			SCB_ERR_CONFIG, "defaultFlagSet must be a flag set name or null");
	return 0;
}

static int test_set_above_max(void)
{
	struct scb_error *err = NULL;

	/* default maxFlags has no WRITE_HDR_OPT */
	CHECK_PARSE_ERR("{\"flagSets\":{\"basic\":[\"RTT\"],\"hdr\":[\"RTT\",\"WRITE_HDR_OPT\"]}}",
			SCB_ERR_CONFIG, "flagSets.hdr asks for WRITE_HDR_OPT, above maxFlags");
	CHECK_PARSE_ERR("{\"flagSets\":{\"a\":[\"RTO\",\"RTT\"]},\"maxFlags\":[\"RTT\"]}",
			SCB_ERR_CONFIG, "flagSets.a asks for RTO, above maxFlags");
	/* granted by maxFlags: fine */
	CHECK_OK(parse("{\"flagSets\":{\"hdr\":[\"WRITE_HDR_OPT\"]},"
		       "\"maxFlags\":[\"WRITE_HDR_OPT\"]}", &err), err);
	CHECK_INT(cfg.max_flags, WRITE_HDR);
	return 0;
}

/* {"flagSets":{"s0":["RTT"],...,"s<n-1>":["RTT"]}} */
static char *many_sets(int n)
{
	size_t cap = 64 + (size_t)n * 24, off;
	char *buf = malloc(cap);
	int i;

	if (!buf)
		return NULL;
	off = snprintf(buf, cap, "{\"flagSets\":{");
	for (i = 0; i < n; i++)
		off += snprintf(buf + off, cap - off, "%s\"s%d\":[\"RTT\"]", i ? "," : "", i);
	snprintf(buf + off, cap - off, "}}");
	return buf;
}

static int test_256_sets(void)
{
	struct scb_error *err = NULL;
	char *text = many_sets(256);
	int ret;

	CHECK(text);
	ret = parse(text, &err);
	free(text);
	CHECK_OK(ret, err);
	CHECK_INT(cfg.n_sets, 256);
	CHECK_STR(cfg.sets[255].name, "s255");
	return 0;
}

static int test_257_sets(void)
{
	char *text = many_sets(257);
	struct scb_error *err = NULL;
	int ret;

	CHECK(text);
	ret = parse(text, &err);
	free(text);
	CHECK_ERR(ret, err, SCB_ERR_CONFIG);
	CHECK_CONTAINS(err->msg, "flagSets has 257 sets (max 256)");
	scb_error_free(&err);
	return 0;
}

static int test_10000_sets(void)
{
	char *text = many_sets(10000);
	struct scb_error *err = NULL;
	int ret;

	CHECK(text);
	ret = parse(text, &err);
	free(text);
	CHECK_ERR(ret, err, SCB_ERR_CONFIG);
	CHECK_CONTAINS(err->msg, "flagSets has 10000 sets (max 256)");
	scb_error_free(&err);
	return 0;
}

static int test_deep_nesting(void)
{
	size_t n = 100000;
	char *text = malloc(n + 1);
	struct scb_error *err = NULL;
	int ret;

	CHECK(text);
	memset(text, '[', n);
	text[n] = '\0';
	ret = parse(text, &err);
	CHECK_ERR(ret, err, SCB_ERR_DECODE);
	scb_error_free(&err);

	/* the same depth inside an accepted key */
	memcpy(text, "{\"flagSets\":", 12);
	ret = parse(text, &err);
	free(text);
	CHECK_ERR(ret, err, SCB_ERR_DECODE);
	scb_error_free(&err);
	return 0;
}

static int test_wrong_types(void)
{
	CHECK_PARSE_ERR("{\"maxFlags\":\"RTT\"}", SCB_ERR_CONFIG, "maxFlags must be an array");
	CHECK_PARSE_ERR("{\"retainStats\":\"true\"}", SCB_ERR_CONFIG,
			"retainStats must be true or false");
	CHECK_PARSE_ERR("{\"retainStats\":1}", SCB_ERR_CONFIG, "retainStats must be true or false");
	CHECK_PARSE_ERR("{\"onError\":5}", SCB_ERR_CONFIG, "onError must be \"fail\" or \"ignore\"");
	CHECK_PARSE_ERR("{\"onError\":\"FAIL\"}", SCB_ERR_CONFIG, "onError must be");
	CHECK_PARSE_ERR("{\"onError\":null}", SCB_ERR_CONFIG, "onError must be");
	return 0;
}

static int test_load_missing_path(void)
{
	struct scb_error *err = NULL;

	CHECK_ERR(config_load("/nonexistent/sockops-cb/config.json", &cfg, &err), err,
		  SCB_ERR_CONFIG);
	CHECK_CONTAINS(err->msg, "cannot open config /nonexistent/sockops-cb/config.json");
	CHECK_CONTAINS(err->msg, "No such file or directory");
	scb_error_free(&err);
	return 0;
}

/* A directory is not a config: say so, not "not valid JSON". */
static int test_load_directory(void)
{
	char dir[] = "/tmp/scb-unit-config.XXXXXX";
	struct scb_error *err = NULL;
	int ret;

	CHECK(mkdtemp(dir));
	ret = config_load(dir, &cfg, &err);
	rmdir(dir);
	CHECK_ERR(ret, err, SCB_ERR_CONFIG);
	CHECK_CONTAINS(err->msg, dir);
	if (strstr(err->msg, "not valid JSON")) {
		tap_diag("message is \"%s\"", tap_show(err->msg));
		scb_error_free(&err);
		return -1;
	}
	scb_error_free(&err);
	return 0;
}

/* No path and no file at the default path: built-in defaults. */
static int test_load_default_absent(void)
{
	struct scb_error *err = NULL;

	static struct scb_config by_path;

	/* Installed (make install): no path means that file, exactly. */
	if (access(SCB_DEFAULT_CONFIG, F_OK) == 0) {
		printf("# %s exists: loaded as if given\n", SCB_DEFAULT_CONFIG);
		CHECK_OK(config_load(SCB_DEFAULT_CONFIG, &by_path, &err), err);
		CHECK_OK(config_load(NULL, &cfg, &err), err);
		CHECK_INT(memcmp(&cfg, &by_path, sizeof(cfg)), 0);
		return 0;
	}
	memset(&cfg, 0xff, sizeof(cfg));
	CHECK_OK(config_load(NULL, &cfg, &err), err);
	CHECK_INT(cfg.n_sets, 0);
	CHECK_INT(cfg.default_set, -1);
	CHECK_INT(cfg.max_flags, RTO | RETRANS | STATE | RTT);
	CHECK_INT(cfg.on_error, SCB_ON_ERROR_FAIL);
	CHECK_INT(cfg.retain_stats, false);
	return 0;
}

static int write_tmp(char *path, const char *text)
{
	int fd = mkstemp(path);

	if (fd < 0)
		return -1;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	return 0;
}

static int test_load_file(void)
{
	char path[] = "/tmp/scb-unit-config.XXXXXX";
	struct scb_error *err = NULL;
	int ret;

	CHECK(write_tmp(path, valid_config) == 0);
	ret = config_load(path, &cfg, &err);
	unlink(path);
	CHECK_OK(ret, err);
	CHECK_INT(cfg.n_sets, 3);
	CHECK_INT(cfg.default_set, 0);
	return 0;
}

/* An error from the file's content names the file. */
static int test_load_file_bad(void)
{
	char path[] = "/tmp/scb-unit-config.XXXXXX";
	struct scb_error *err = NULL;
	int ret;

	CHECK(write_tmp(path, "{\"defaultFlagset\":\"a\"}") == 0);
	ret = config_load(path, &cfg, &err);
	unlink(path);
	CHECK_ERR(ret, err, SCB_ERR_CONFIG);
	CHECK(!strncmp(err->msg, "config /tmp/scb-unit-config.", 28));
	CHECK_CONTAINS(err->msg, ": unknown key \"defaultFlagset\"");
	scb_error_free(&err);
	return 0;
}

static int test_load_file_too_big(void)
{
	char path[] = "/tmp/scb-unit-config.XXXXXX";
	struct scb_error *err = NULL;
	size_t n = (1 << 20) + 10;
	char *text = malloc(n + 1);
	int ret;

	CHECK(text);
	memset(text, ' ', n);
	memcpy(text, "{}", 2);
	text[n] = '\0';
	ret = write_tmp(path, text);
	free(text);
	CHECK(ret == 0);
	ret = config_load(path, &cfg, &err);
	unlink(path);
	CHECK_ERR(ret, err, SCB_ERR_CONFIG);
	CHECK_CONTAINS(err->msg, "is over 1 MiB");
	scb_error_free(&err);
	return 0;
}

/* ---- annotations ---- */

static int resolve(const char *annotations, struct scb_request *req, struct scb_error **err)
{
	cJSON *a = ann(annotations);
	int ret;

	if (annotations && !a) {
		tap_diag("bad test JSON: %s", annotations);
		return -2;
	}
	ret = config_resolve(&cfg, a, req, err);
	cJSON_Delete(a);
	return ret;
}

/* config_resolve(annotations) must fail with SCB_ERR_INPUT and `want`. */
#define CHECK_RESOLVE_ERR(annotations, want)                                  \
	do {                                                                  \
		struct scb_request req_;                                        \
		struct scb_error *e_ = NULL;                                  \
		CHECK_ERR(resolve(annotations, &req_, &e_), e_, SCB_ERR_INPUT); \
		CHECK_CONTAINS(e_->msg, want);                                \
		if (check_printable(e_->msg)) {                               \
			scb_error_free(&e_);                                  \
			return -1;                                            \
		}                                                             \
		scb_error_free(&e_);                                          \
	} while (0)

static int test_resolve_flag_set(void)
{
	struct scb_error *err = NULL;
	struct scb_request req;

	if (load_valid())
		return -1;
	CHECK_OK(resolve("{\"sockops-cb.io/flag-set\":\"full\",\"other\":\"x\"}", &req, &err), err);
	CHECK_INT(req.traced, true);
	CHECK_STR(req.flag_set, "full");
	CHECK_INT(req.requested, RTO | RETRANS | STATE | RTT);
	CHECK_INT(req.effective, RTO | RETRANS | STATE | RTT);
	return 0;
}

static int test_resolve_flags(void)
{
	struct scb_error *err = NULL;
	struct scb_request req;

	if (load_valid())
		return -1;
	CHECK_OK(resolve("{\"sockops-cb.io/flags\":\"RTT,STATE\"}", &req, &err), err);
	CHECK_INT(req.traced, true);
	CHECK_INT(req.requested, RTT | STATE);
	CHECK_INT(req.effective, RTT | STATE);
	CHECK_STR(req.flag_set, "");

	CHECK_OK(resolve("{\"sockops-cb.io/flags\":\" rtt , state \"}", &req, &err), err);
	CHECK_INT(req.requested, RTT | STATE);
	CHECK_INT(req.effective, RTT | STATE);
	CHECK_STR(req.flag_set, "");
	return 0;
}

static int test_resolve_clamped(void)
{
	struct scb_error *err = NULL;
	struct scb_request req;

	/* maxFlags: RTO RETRANS STATE RTT (the default) */
	CHECK_OK(parse("{\"flagSets\":{\"a\":[\"RTT\"]}}", &err), err);
	CHECK_OK(resolve("{\"sockops-cb.io/flags\":\"RTT,WRITE_HDR_OPT,PARSE_ALL_HDR_OPT\"}",
			 &req, &err), err);
	CHECK_INT(req.traced, true);
	CHECK_INT(req.requested, RTT | WRITE_HDR | SCB_FLAG_PARSE_ALL_HDR_OPT);
	CHECK_INT(req.effective, RTT);

	/* nothing left after the ceiling: still traced, with no callbacks */
	CHECK_OK(resolve("{\"sockops-cb.io/flags\":\"WRITE_HDR_OPT\"}", &req, &err), err);
	CHECK_INT(req.requested, WRITE_HDR);
	CHECK_INT(req.effective, 0);
	return 0;
}

static int test_resolve_unknown_set(void)
{
	if (load_valid())
		return -1;
	CHECK_RESOLVE_ERR("{\"sockops-cb.io/flag-set\":\"fast\"}",
			  "annotation sockops-cb.io/flag-set names unknown flag set \"fast\" "
			  "(known: basic full hdr)");
	CHECK_RESOLVE_ERR("{\"sockops-cb.io/flag-set\":\"\"}", "unknown flag set \"\"");

	/* no sets configured at all */
	config_defaults(&cfg);
	CHECK_RESOLVE_ERR("{\"sockops-cb.io/flag-set\":\"full\"}", "(known: none configured)");
	return 0;
}

static int test_resolve_unknown_flag(void)
{
	if (load_valid())
		return -1;
	CHECK_RESOLVE_ERR("{\"sockops-cb.io/flags\":\"RTT,RTX\"}",
			  "unknown flag \"RTX\" in annotation sockops-cb.io/flags (known: RTO RETRANS");
	return 0;
}

static int test_resolve_both(void)
{
	if (load_valid())
		return -1;
	CHECK_RESOLVE_ERR("{\"sockops-cb.io/flag-set\":\"full\",\"sockops-cb.io/flags\":\"RTT\"}",
			  "annotations sockops-cb.io/flag-set and sockops-cb.io/flags are both set");
	return 0;
}

static int test_resolve_too_long(void)
{
	struct scb_error *err = NULL;
	struct scb_request req;
	char json[600];
	char val[300];

	if (load_valid())
		return -1;
	/* 257 bytes: "RTT" and 254 spaces */
	memset(val, ' ', 257);
	memcpy(val, "RTT", 3);
	val[257] = '\0';
	snprintf(json, sizeof(json), "{\"sockops-cb.io/flags\":\"%s\"}", val);
	CHECK_RESOLVE_ERR(json, "annotation sockops-cb.io/flags is 257 bytes (max 256)");
	snprintf(json, sizeof(json), "{\"sockops-cb.io/flag-set\":\"%s\"}", val);
	CHECK_RESOLVE_ERR(json, "annotation sockops-cb.io/flag-set is 257 bytes (max 256)");

	/* 256 bytes is within the limit */
	val[256] = '\0';
	snprintf(json, sizeof(json), "{\"sockops-cb.io/flags\":\"%s\"}", val);
	CHECK_OK(resolve(json, &req, &err), err);
	CHECK_INT(req.requested, RTT);
	return 0;
}

static int test_resolve_not_string(void)
{
	if (load_valid())
		return -1;
	CHECK_RESOLVE_ERR("{\"sockops-cb.io/flags\":[\"RTT\"]}",
			  "annotation sockops-cb.io/flags must be a string");
	CHECK_RESOLVE_ERR("{\"sockops-cb.io/flag-set\":5}",
			  "annotation sockops-cb.io/flag-set must be a string");
	CHECK_RESOLVE_ERR("{\"sockops-cb.io/flag-set\":null}",
			  "annotation sockops-cb.io/flag-set must be a string");
	CHECK_RESOLVE_ERR("[\"sockops-cb.io/flags\"]", "annotations must be a JSON object");
	return 0;
}

static int test_resolve_control_chars(void)
{
	if (load_valid())
		return -1;
	CHECK_RESOLVE_ERR("{\"sockops-cb.io/flags\":\"RTT,\\u001b]0;pwned\\u0007\\r\\n\"}",
			  "unknown flag \"\\x1b]0;pwned\\x07\\x0d\\x0a\"");
	CHECK_RESOLVE_ERR("{\"sockops-cb.io/flag-set\":\"full\\nINFO fake log line\"}",
			  "unknown flag set \"full\\x0aINFO fake log line\"");
	CHECK_RESOLVE_ERR("{\"sockops-cb.io/flag-set\":\"\\\"quoted\\\\\"}",
			  "unknown flag set \"\\x22quoted\\x5c\"");
	CHECK_RESOLVE_ERR("{\"sockops-cb.io/flag-set\":\"caf\\u00e9\"}",
			  "unknown flag set \"caf\\xc3\\xa9\"");
	return 0;
}

static int test_resolve_default(void)
{
	struct scb_error *err = NULL;
	struct scb_request req;

	if (load_valid())
		return -1;
	CHECK_OK(resolve(NULL, &req, &err), err);
	CHECK_INT(req.traced, true);
	CHECK_STR(req.flag_set, "basic");
	CHECK_INT(req.requested, RTT | STATE);
	CHECK_INT(req.effective, RTT | STATE);

	/* other annotations only: the same */
	CHECK_OK(resolve("{\"io.kubernetes.pod.name\":\"web\"}", &req, &err), err);
	CHECK_INT(req.traced, true);
	CHECK_STR(req.flag_set, "basic");
	CHECK_INT(req.effective, RTT | STATE);
	return 0;
}

static int test_resolve_no_default(void)
{
	struct scb_error *err = NULL;
	struct scb_request req;

	CHECK_OK(parse("{\"flagSets\":{\"a\":[\"RTT\"]}}", &err), err);
	memset(&req, 0xff, sizeof(req));
	CHECK_OK(resolve("{}", &req, &err), err);
	CHECK_INT(req.traced, false);
	CHECK_INT(req.requested, 0);
	CHECK_INT(req.effective, 0);
	CHECK_STR(req.flag_set, "");
	CHECK_OK(resolve(NULL, &req, &err), err);
	CHECK_INT(req.traced, false);
	return 0;
}

static int test_resolve_empty_flags(void)
{
	if (load_valid())
		return -1;
	CHECK_RESOLVE_ERR("{\"sockops-cb.io/flags\":\"\"}",
			  "annotation sockops-cb.io/flags names no flag");
	CHECK_RESOLVE_ERR("{\"sockops-cb.io/flags\":\",\"}",
			  "annotation sockops-cb.io/flags names no flag");
	return 0;
}

/* Empty entries are skipped alike: "RTT, " as "RTT,,STATE". */
static int test_resolve_trailing_comma(void)
{
	struct scb_error *err = NULL;
	struct scb_request req;

	if (load_valid())
		return -1;
	CHECK_OK(resolve("{\"sockops-cb.io/flags\":\"RTT, \"}", &req, &err), err);
	CHECK_INT(req.requested, SCB_FLAG_RTT);
	CHECK_OK(resolve("{\"sockops-cb.io/flags\":\"RTT,,STATE\"}", &req, &err), err);
	CHECK_INT(req.requested, SCB_FLAG_RTT | SCB_FLAG_STATE);
	return 0;
}

/* An empty set: attached, no extra callbacks (connection counts only). */
static int test_resolve_empty_set(void)
{
	struct scb_error *err = NULL;
	struct scb_request req;

	CHECK_OK(parse("{\"flagSets\":{\"counts\":[]},\"defaultFlagSet\":\"counts\"}", &err), err);
	CHECK_OK(resolve(NULL, &req, &err), err);
	CHECK_INT(req.traced, true);
	CHECK_STR(req.flag_set, "counts");
	CHECK_INT(req.requested, 0);
	CHECK_INT(req.effective, 0);
	return 0;
}

/* ---- config_request (manual attach) ---- */

static int test_request_set(void)
{
	struct scb_error *err = NULL;
	struct scb_request req;

	if (load_valid())
		return -1;
	CHECK_OK(config_request(&cfg, NULL, "full", &req, &err), err);
	CHECK_INT(req.traced, true);
	CHECK_STR(req.flag_set, "full");
	CHECK_INT(req.requested, RTO | RETRANS | STATE | RTT);
	CHECK_INT(req.effective, RTO | RETRANS | STATE | RTT);

	CHECK_ERR(config_request(&cfg, NULL, "fast", &req, &err), err, SCB_ERR_INPUT);
	CHECK_CONTAINS(err->msg, "--flag-set names unknown flag set \"fast\" (known: basic full hdr)");
	scb_error_free(&err);
	return 0;
}

static int test_request_flags(void)
{
	struct scb_error *err = NULL;
	struct scb_request req;

	CHECK_OK(parse("{}", &err), err);
	CHECK_OK(config_request(&cfg, "rtt,WRITE_HDR_OPT", NULL, &req, &err), err);
	CHECK_INT(req.traced, true);
	CHECK_STR(req.flag_set, "");
	CHECK_INT(req.requested, RTT | WRITE_HDR);
	CHECK_INT(req.effective, RTT);

	CHECK_ERR(config_request(&cfg, "RTX", NULL, &req, &err), err, SCB_ERR_INPUT);
	CHECK_CONTAINS(err->msg, "unknown flag \"RTX\" in --flags");
	scb_error_free(&err);
	CHECK_ERR(config_request(&cfg, "", NULL, &req, &err), err, SCB_ERR_INPUT);
	CHECK_CONTAINS(err->msg, "--flags names no flag");
	scb_error_free(&err);
	return 0;
}

static int test_request_both_or_none(void)
{
	struct scb_error *err = NULL;
	struct scb_request req;

	if (load_valid())
		return -1;
	CHECK_ERR(config_request(&cfg, "RTT", "full", &req, &err), err, SCB_ERR_INPUT);
	CHECK_CONTAINS(err->msg, "not both");
	scb_error_free(&err);

	/* neither: the default set */
	CHECK_OK(config_request(&cfg, NULL, NULL, &req, &err), err);
	CHECK_INT(req.traced, true);
	CHECK_STR(req.flag_set, "basic");
	CHECK_INT(req.effective, RTT | STATE);

	/* neither and no default: an error, not a silent "untraced" */
	CHECK_OK(parse("{}", &err), err);
	CHECK_ERR(config_request(&cfg, NULL, NULL, &req, &err), err, SCB_ERR_INPUT);
	CHECK_CONTAINS(err->msg, "no defaultFlagSet");
	scb_error_free(&err);
	return 0;
}

static int test_identity_defaults(void)
{
	struct scb_error *err = NULL;
	struct scb_request req;

	CHECK_OK(parse("{\"maxFlags\":[\"RTT\",\"WRITE_HDR_OPT\",\"PARSE_ALL_HDR_OPT\"]}", &err), err);
	CHECK_INT(cfg.identity.enabled, false);
	CHECK_INT(cfg.identity.kind, 253);
	CHECK_INT(cfg.identity.exid, 0x5343);
	CHECK_INT(cfg.identity.max_peers, 256);
	CHECK_INT(cfg.identity.peer_series, true);
	/* Off: the header-option flags keep their per-segment meaning. */
	CHECK_OK(config_request(&cfg, "RTT,WRITE_HDR_OPT,PARSE_ALL_HDR_OPT", NULL, &req, &err), err);
	CHECK_INT(req.identity.mode, 0);
	return 0;
}

static int test_identity_modes(void)
{
	struct scb_error *err = NULL;
	struct scb_request req;

	CHECK_OK(parse("{\"maxFlags\":[\"RTT\",\"WRITE_HDR_OPT\",\"PARSE_ALL_HDR_OPT\","
		       "\"PARSE_UNKNOWN_HDR_OPT\"],\"identity\":{\"enabled\":true,\"kind\":254,"
		       "\"experimentId\":4660,\"node\":10,\"nodeName\":\"node-a\","
		       "\"maxPeersPerTarget\":16384,\"peerSeries\":false}}", &err), err);
	CHECK_OK(config_request(&cfg, "RTT,WRITE_HDR_OPT,PARSE_UNKNOWN_HDR_OPT", NULL, &req, &err), err);
	CHECK_INT(req.identity.mode, SCB_ID_ANNOUNCE | SCB_ID_LEARN | SCB_ID_NO_SERIES);
	CHECK_INT(req.identity.node, 10);
	CHECK_INT(req.identity.kind, 254);
	CHECK_INT(req.identity.exid, 4660);
	CHECK_INT(req.identity.max_peers, 16384);
	CHECK_STR(req.identity.node_name, "node-a");
	CHECK_OK(config_request(&cfg, "RTT,WRITE_HDR_OPT", NULL, &req, &err), err);
	CHECK_INT(req.identity.mode, SCB_ID_ANNOUNCE | SCB_ID_NO_SERIES);
	CHECK_OK(config_request(&cfg, "PARSE_ALL_HDR_OPT", NULL, &req, &err), err);
	CHECK_INT(req.identity.mode, SCB_ID_LEARN | SCB_ID_NO_SERIES);
	CHECK_OK(config_request(&cfg, "RTT", NULL, &req, &err), err);
	CHECK_INT(req.identity.mode, 0);
	return 0;
}

static int test_identity_node_from_name(void)
{
	struct scb_error *err = NULL;

	CHECK_OK(parse("{\"identity\":{\"enabled\":true,\"nodeName\":\"node-b\"}}", &err), err);
	CHECK_INT(cfg.identity.node, identity_node_hash("node-b"));
	CHECK(cfg.identity.node != 0);
	CHECK(identity_node_hash("node-a") != identity_node_hash("node-b"));
	/* Without a name: the host's. */
	CHECK_OK(parse("{\"identity\":{\"enabled\":true}}", &err), err);
	CHECK(cfg.identity.node_name[0] != '\0');
	CHECK_INT(cfg.identity.node, identity_node_hash(cfg.identity.node_name));
	return 0;
}

static int test_identity_errors(void)
{
	CHECK_PARSE_ERR("{\"identity\":true}", SCB_ERR_CONFIG, "identity must be a JSON object");
	CHECK_PARSE_ERR("{\"identity\":{\"enabled\":\"yes\"}}", SCB_ERR_CONFIG,
			"identity.enabled must be true or false");
	CHECK_PARSE_ERR("{\"identity\":{\"kind\":252}}", SCB_ERR_CONFIG,
			"identity.kind must be an integer from 253 to 254");
	CHECK_PARSE_ERR("{\"identity\":{\"kind\":253.5}}", SCB_ERR_CONFIG, "identity.kind");
	CHECK_PARSE_ERR("{\"identity\":{\"experimentId\":65536}}", SCB_ERR_CONFIG,
			"identity.experimentId must be an integer from 0 to 65535");
	CHECK_PARSE_ERR("{\"identity\":{\"experimentId\":-1}}", SCB_ERR_CONFIG, "identity.experimentId");
	CHECK_PARSE_ERR("{\"identity\":{\"node\":0}}", SCB_ERR_CONFIG,
			"identity.node must be an integer from 1 to 4294967295");
	CHECK_PARSE_ERR("{\"identity\":{\"node\":4294967296}}", SCB_ERR_CONFIG, "identity.node");
	CHECK_PARSE_ERR("{\"identity\":{\"maxPeersPerTarget\":16385}}", SCB_ERR_CONFIG,
			"identity.maxPeersPerTarget must be an integer from 1 to 16384");
	CHECK_PARSE_ERR("{\"identity\":{\"nodeName\":\"\"}}", SCB_ERR_CONFIG,
			"identity.nodeName must be a string of 1 to 63 characters");
	CHECK_PARSE_ERR("{\"identity\":{\"nodeName\":\"a\\nb\"}}", SCB_ERR_CONFIG,
			"identity.nodeName has a control character");
	CHECK_PARSE_ERR("{\"identity\":{\"nodeName\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}}",
			SCB_ERR_CONFIG, "identity.nodeName must be a string");
	CHECK_PARSE_ERR("{\"identity\":{\"experimentID\":1}}", SCB_ERR_CONFIG,
			"unknown key \"experimentID\" in identity");
	CHECK_PARSE_ERR("{\"identity\":{\"kind\":253,\"kind\":254}}", SCB_ERR_CONFIG,
			"duplicate key \"kind\" in identity");
	return 0;
}

static int test_identity_format(void)
{
	char buf[SCB_ID_TEXT_LEN];

	CHECK_STR(identity_format(10, 0x24e36, buf, sizeof(buf)), "0000000a:00024e36");
	CHECK_STR(identity_format(0xffffffffU, 1, buf, sizeof(buf)), "ffffffff:00000001");
	CHECK_STR(identity_format(0, 0, buf, sizeof(buf)), "?");
	CHECK_INT(identity_pod(0x123456789abcdef0ULL), 0x9abcdef0U);
	return 0;
}

int main(void)
{
	RUN_TEST(test_valid);
	RUN_TEST(test_defaults);
	RUN_TEST(test_on_error_and_retain);
	RUN_TEST(test_malformed_json);
	RUN_TEST(test_trailing_garbage);
	RUN_TEST(test_not_an_object);
	RUN_TEST(test_unknown_flag);
	RUN_TEST(test_unknown_flag_code);
	RUN_TEST(test_unknown_key);
	RUN_TEST(test_unknown_key_escaped);
	RUN_TEST(test_cni_keys);
	RUN_TEST(test_duplicate_keys);
	RUN_TEST(test_flag_sets_not_object);
	RUN_TEST(test_set_name_invalid);
	RUN_TEST(test_default_set_missing);
	RUN_TEST(test_set_above_max);
	RUN_TEST(test_256_sets);
	RUN_TEST(test_257_sets);
	RUN_TEST(test_10000_sets);
	RUN_TEST(test_deep_nesting);
	RUN_TEST(test_wrong_types);
	RUN_TEST(test_load_missing_path);
	RUN_TEST(test_load_directory);
	RUN_TEST(test_load_default_absent);
	RUN_TEST(test_load_file);
	RUN_TEST(test_load_file_bad);
	RUN_TEST(test_load_file_too_big);

	RUN_TEST(test_resolve_flag_set);
	RUN_TEST(test_resolve_flags);
	RUN_TEST(test_resolve_clamped);
	RUN_TEST(test_resolve_unknown_set);
	RUN_TEST(test_resolve_unknown_flag);
	RUN_TEST(test_resolve_both);
	RUN_TEST(test_resolve_too_long);
	RUN_TEST(test_resolve_not_string);
	RUN_TEST(test_resolve_control_chars);
	RUN_TEST(test_resolve_default);
	RUN_TEST(test_resolve_no_default);
	RUN_TEST(test_resolve_empty_flags);
	RUN_TEST(test_resolve_trailing_comma);
	RUN_TEST(test_resolve_empty_set);

	RUN_TEST(test_request_set);
	RUN_TEST(test_request_flags);
	RUN_TEST(test_request_both_or_none);

	RUN_TEST(test_identity_defaults);
	RUN_TEST(test_identity_modes);
	RUN_TEST(test_identity_node_from_name);
	RUN_TEST(test_identity_errors);
	RUN_TEST(test_identity_format);
	return tap_done();
}
