// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* flagnames.c: callback flag names <-> masks. */
#include <cjson/cJSON.h>
#include "tap.h"
#include "flagnames.h"
#include <linux/types.h>
#include "sockops.h"

#define CANARY 0xA5

static int test_by_name(void)
{
	CHECK_INT(flag_by_name("RTO"), SCB_FLAG_RTO);
	CHECK_INT(flag_by_name("RETRANS"), SCB_FLAG_RETRANS);
	CHECK_INT(flag_by_name("STATE"), SCB_FLAG_STATE);
	CHECK_INT(flag_by_name("RTT"), SCB_FLAG_RTT);
	CHECK_INT(flag_by_name("PARSE_ALL_HDR_OPT"), SCB_FLAG_PARSE_ALL_HDR_OPT);
	CHECK_INT(flag_by_name("PARSE_UNKNOWN_HDR_OPT"), SCB_FLAG_PARSE_UNKNOWN_HDR_OPT);
	CHECK_INT(flag_by_name("WRITE_HDR_OPT"), SCB_FLAG_WRITE_HDR_OPT);
	return 0;
}

static int test_by_name_case(void)
{
	CHECK_INT(flag_by_name("rtt"), SCB_FLAG_RTT);
	CHECK_INT(flag_by_name("State"), SCB_FLAG_STATE);
	CHECK_INT(flag_by_name("write_hdr_opt"), SCB_FLAG_WRITE_HDR_OPT);
	return 0;
}

static int test_by_name_unknown(void)
{
	CHECK_INT(flag_by_name(""), 0);
	CHECK_INT(flag_by_name("RTX"), 0);
	CHECK_INT(flag_by_name("RT"), 0);
	CHECK_INT(flag_by_name("RTTX"), 0);
	CHECK_INT(flag_by_name(" RTT"), 0);	/* trimming is the list parser's job */
	CHECK_INT(flag_by_name("RTO_CB_FLAG"), 0);
	return 0;
}

/* Every name in the "known:" list resolves, and the list covers all bits. */
static int test_known_list(void)
{
	char buf[256], *tok, *save = NULL;
	uint32_t all = 0;

	snprintf(buf, sizeof(buf), "%s", flags_known_list());
	for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		if (!flag_by_name(tok)) {
			tap_diag("known name \"%s\" does not resolve", tok);
			return -1;
		}
		all |= flag_by_name(tok);
	}
	CHECK_INT(all, SCB_FLAGS_KNOWN);
	return 0;
}

static int test_parse_list(void)
{
	struct scb_error *err = NULL;
	uint32_t m = 0;

	CHECK_OK(flags_parse_list("RTT,STATE", "test", &m, &err), err);
	CHECK_INT(m, SCB_FLAG_RTT | SCB_FLAG_STATE);
	CHECK_OK(flags_parse_list(" rtt , state\t", "test", &m, &err), err);
	CHECK_INT(m, SCB_FLAG_RTT | SCB_FLAG_STATE);
	CHECK_OK(flags_parse_list("RTO", "test", &m, &err), err);
	CHECK_INT(m, SCB_FLAG_RTO);
	CHECK_OK(flags_parse_list("RTT,RTT", "test", &m, &err), err);
	CHECK_INT(m, SCB_FLAG_RTT);
	return 0;
}

static int test_parse_list_all(void)
{
	struct scb_error *err = NULL;
	uint32_t m = 0;

	CHECK_OK(flags_parse_list("RTO,RETRANS,STATE,RTT,PARSE_ALL_HDR_OPT,"
				  "PARSE_UNKNOWN_HDR_OPT,WRITE_HDR_OPT", "test", &m, &err), err);
	CHECK_INT(m, SCB_FLAGS_KNOWN);
	return 0;
}

static int test_parse_list_unknown(void)
{
	struct scb_error *err = NULL;
	uint32_t m = 0x1234;

	CHECK_ERR(flags_parse_list("RTT,RTX", "annotation x", &m, &err), err, SCB_ERR_INPUT);
	CHECK_CONTAINS(err->msg, "unknown flag \"RTX\" in annotation x (known: RTO RETRANS STATE RTT");
	CHECK_INT(m, 0x1234);	/* untouched on error */
	scb_error_free(&err);
	return 0;
}

static int test_parse_list_empty(void)
{
	struct scb_error *err = NULL;
	uint32_t m = 0x1234;

	CHECK_ERR(flags_parse_list("", "test", &m, &err), err, SCB_ERR_INPUT);
	CHECK_CONTAINS(err->msg, "names no flag");
	scb_error_free(&err);
	CHECK_ERR(flags_parse_list(",", "test", &m, &err), err, SCB_ERR_INPUT);
	scb_error_free(&err);
	CHECK_ERR(flags_parse_list(" , ", "test", &m, &err), err, SCB_ERR_INPUT);
	scb_error_free(&err);
	CHECK_ERR(flags_parse_list("+ ", "test", &m, &err), err, SCB_ERR_INPUT);
	scb_error_free(&err);
	CHECK_INT(m, 0x1234);
	return 0;
}

/* podman splits --annotation values at commas: "+" and spaces separate too. */
static int test_parse_list_separators(void)
{
	struct scb_error *err = NULL;
	uint32_t m = 0;

	CHECK_OK(flags_parse_list("RTT+STATE", "test", &m, &err), err);
	CHECK_INT(m, SCB_FLAG_RTT | SCB_FLAG_STATE);
	CHECK_OK(flags_parse_list("RTO RETRANS", "test", &m, &err), err);
	CHECK_INT(m, SCB_FLAG_RTO | SCB_FLAG_RETRANS);
	CHECK_ERR(flags_parse_list("RTT/STATE", "test", &m, &err), err, SCB_ERR_INPUT);
	CHECK_CONTAINS(err->msg, "unknown flag \"RTT/STATE\"");
	scb_error_free(&err);
	return 0;
}

static int test_parse_list_escapes(void)
{
	struct scb_error *err = NULL;
	uint32_t m;
	const char *p;

	CHECK_ERR(flags_parse_list("RTT,\x1b[2J\a", "test", &m, &err), err, SCB_ERR_INPUT);
	for (p = err->msg; *p; p++)
		CHECK((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f);
	CHECK_CONTAINS(err->msg, "\\x1b[2J\\x07");
	scb_error_free(&err);
	return 0;
}

static int test_parse_json(void)
{
	struct scb_error *err = NULL;
	cJSON *arr = cJSON_Parse("[\"RTT\",\"state\"]");
	uint32_t m = 0;

	CHECK(arr);
	CHECK_OK(flags_parse_json(arr, "t", &m, &err), err);
	CHECK_INT(m, SCB_FLAG_RTT | SCB_FLAG_STATE);
	cJSON_Delete(arr);

	arr = cJSON_Parse("[]");
	CHECK_OK(flags_parse_json(arr, "t", &m, &err), err);
	CHECK_INT(m, 0);
	cJSON_Delete(arr);
	return 0;
}

static int test_parse_json_bad(void)
{
	struct scb_error *err = NULL;
	cJSON *v = cJSON_Parse("\"RTT\"");
	uint32_t m = 0x1234;

	CHECK_ERR(flags_parse_json(v, "maxFlags", &m, &err), err, SCB_ERR_CONFIG);
	CHECK_CONTAINS(err->msg, "maxFlags must be an array");
	scb_error_free(&err);
	cJSON_Delete(v);

	v = cJSON_Parse("[\"RTT\",3]");
	CHECK_ERR(flags_parse_json(v, "maxFlags", &m, &err), err, SCB_ERR_CONFIG);
	CHECK_CONTAINS(err->msg, "only strings");
	scb_error_free(&err);
	cJSON_Delete(v);

	v = cJSON_Parse("[\"RTT\",\"RTX\"]");
	CHECK(v);
	CHECK(flags_parse_json(v, "flagSets.full", &m, &err) < 0);
	CHECK_CONTAINS(err->msg, "unknown flag \"RTX\" in flagSets.full (known: RTO RETRANS STATE RTT");
	scb_error_free(&err);
	cJSON_Delete(v);
	CHECK_INT(m, 0x1234);
	return 0;
}

static int test_format(void)
{
	char buf[128];

	CHECK_STR(flags_format(0, buf, sizeof(buf)), "-");
	CHECK_STR(flags_format(SCB_FLAG_RTT, buf, sizeof(buf)), "RTT");
	CHECK_STR(flags_format(SCB_FLAG_RTT | SCB_FLAG_STATE, buf, sizeof(buf)), "STATE,RTT");
	CHECK_STR(flags_format(SCB_FLAGS_KNOWN, buf, sizeof(buf)),
		  "RTO,RETRANS,STATE,RTT,PARSE_ALL_HDR_OPT,PARSE_UNKNOWN_HDR_OPT,WRITE_HDR_OPT");
	return 0;
}

static int test_format_unknown_bits(void)
{
	char buf[128];

	CHECK_STR(flags_format(0x80, buf, sizeof(buf)), "0x80");
	CHECK_STR(flags_format(SCB_FLAG_RTT | 0x80, buf, sizeof(buf)), "RTT,0x80");
	CHECK_STR(flags_format(SCB_FLAG_RTO | 0xff00, buf, sizeof(buf)), "RTO,0xff00");
	CHECK_STR(flags_format(0xffffffff, buf, sizeof(buf)),
		  "RTO,RETRANS,STATE,RTT,PARSE_ALL_HDR_OPT,PARSE_UNKNOWN_HDR_OPT,WRITE_HDR_OPT,0xffffff80");
	return 0;
}

static int test_format_small_buffers(void)
{
	unsigned char mem[32 + 32];
	size_t len, i;

	for (len = 1; len <= 32; len++) {
		memset(mem, CANARY, sizeof(mem));
		flags_format(0xffffffff, (char *)mem, len);
		for (i = len; i < sizeof(mem); i++)
			CHECK_INT(mem[i], CANARY);
		CHECK(strnlen((char *)mem, len) < len);
		CHECK(!strncmp((char *)mem, "RTO,RETRANS,STATE,RTT,PARSE_ALL", len - 1));
	}
	return 0;
}

/* mask -> JSON -> mask for every combination of known bits. */
static int test_json_round_trip(void)
{
	struct scb_error *err = NULL;
	uint32_t mask, back;
	cJSON *arr;

	for (mask = 0; mask <= SCB_FLAGS_KNOWN; mask++) {
		arr = flags_to_json(mask);
		CHECK(cJSON_IsArray(arr));
		CHECK_INT(cJSON_GetArraySize(arr), __builtin_popcount(mask));
		back = ~0U;
		CHECK_OK(flags_parse_json(arr, "round trip", &back, &err), err);
		cJSON_Delete(arr);
		CHECK_INT(back, mask);
	}
	return 0;
}

static int test_to_json_unknown_bits(void)
{
	struct scb_error *err = NULL;
	cJSON *arr = flags_to_json(SCB_FLAG_RTT | 0x100);
	char *s;
	uint32_t m;

	CHECK(arr);
	s = cJSON_PrintUnformatted(arr);
	CHECK_STR(s, "[\"RTT\",\"0x100\"]");
	free(s);
	/* unknown bits do not come back: they have no name to parse */
	CHECK(flags_parse_json(arr, "round trip", &m, &err) < 0);
	CHECK_CONTAINS(err->msg, "unknown flag \"0x100\"");
	scb_error_free(&err);
	cJSON_Delete(arr);
	return 0;
}

int main(void)
{
	RUN_TEST(test_by_name);
	RUN_TEST(test_by_name_case);
	RUN_TEST(test_by_name_unknown);
	RUN_TEST(test_known_list);
	RUN_TEST(test_parse_list);
	RUN_TEST(test_parse_list_all);
	RUN_TEST(test_parse_list_unknown);
	RUN_TEST(test_parse_list_empty);
	RUN_TEST(test_parse_list_separators);
	RUN_TEST(test_parse_list_escapes);
	RUN_TEST(test_parse_json);
	RUN_TEST(test_parse_json_bad);
	RUN_TEST(test_format);
	RUN_TEST(test_format_unknown_bits);
	RUN_TEST(test_format_small_buffers);
	RUN_TEST(test_json_round_trip);
	RUN_TEST(test_to_json_unknown_bits);
	return tap_done();
}
