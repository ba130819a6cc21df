// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* eventjson.c: trace --json lines, checked by parsing them back. */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include "tap.h"
#include "eventjson.h"

static struct scb_event sample(uint32_t type)
{
	struct scb_event e;

	memset(&e, 0, sizeof(e));
	e.type = type;
	e.family = 2;	/* AF_INET */
	e.lport = 43210;
	e.rport = 8080;
	e.saddr[0] = htonl(0x0a000001);
	e.daddr[0] = htonl(0x0a000002);
	e.srtt_us = 77;
	e.cookie = 18446744073709551615ULL;
	return e;
}

static cJSON *line_of(const struct scb_target *t, const struct scb_event *e, int64_t dur)
{
	static char frag[EVENT_JSON_FRAG], buf[EVENT_JSON_LINE];

	event_json_target(t, frag, sizeof(frag));
	event_json(buf, sizeof(buf), frag, e, 1795574192123456789ULL, dur);
	return cJSON_Parse(buf);
}

static const char *str(cJSON *o, const char *k)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

static double num(cJSON *o, const char *k)
{
	return cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

static int test_rtt_fields(void)
{
	struct scb_target t = { 0 };
	struct scb_event e = sample(SCB_EV_RTT);
	cJSON *o;

	strcpy(t.id, "abc");
	strcpy(t.name, "web");
	e.arg[0] = 123;
	o = line_of(&t, &e, -1);
	CHECK(o);
	CHECK(!strcmp(str(o, "id"), "abc") && !strcmp(str(o, "name"), "web"));
	CHECK(!strcmp(str(o, "event"), "RTT") && !strcmp(str(o, "family"), "ipv4"));
	CHECK(!strcmp(str(o, "saddr"), "10.0.0.1") && !strcmp(str(o, "daddr"), "10.0.0.2"));
	CHECK(num(o, "sport") == 43210 && num(o, "dport") == 8080 && num(o, "rtt_us") == 123);
	CHECK(num(o, "time") > 1795574192.12 && num(o, "time") < 1795574192.13);
	CHECK(!cJSON_GetObjectItemCaseSensitive(o, "pod_name"));
	cJSON_Delete(o);
	return 0;
}

/* Untrusted names: quotes, backslashes, control bytes, non-UTF-8. */
static int test_hostile_names(void)
{
	struct scb_target t = { 0 };
	struct scb_event e = sample(SCB_EV_STATE);
	cJSON *o;

	strcpy(t.id, "x\"},\"event\":\"FAKE");
	strcpy(t.name, "a\\b\n\x01\xff");
	strcpy(t.pod_name, "p\"");
	e.arg[0] = 1;
	e.arg[1] = 4;
	o = line_of(&t, &e, -1);
	CHECK(o);
	CHECK(!strcmp(str(o, "id"), "x\"},\"event\":\"FAKE"));
	CHECK(!strcmp(str(o, "event"), "STATE"));
	CHECK(!strcmp(str(o, "pod_name"), "p\""));
	CHECK(!strcmp(str(o, "old_state"), "ESTABLISHED") &&
	      !strcmp(str(o, "new_state"), "FIN_WAIT1"));
	cJSON_Delete(o);
	return 0;
}

static int test_close_duration(void)
{
	struct scb_target t = { 0 };
	struct scb_event e = sample(SCB_EV_CLOSE);
	cJSON *o;

	e.arg[0] = 2;
	e.bytes_acked = 5000000000ULL;
	o = line_of(&t, &e, 1234);
	CHECK(o && num(o, "duration_ms") == 1234 && num(o, "retransmits") == 2);
	CHECK(num(o, "bytes_acked") == 5000000000.0);
	cJSON_Delete(o);
	o = line_of(&t, &e, -1);	/* started before the trace */
	CHECK(o && !cJSON_GetObjectItemCaseSensitive(o, "duration_ms"));
	cJSON_Delete(o);
	return 0;
}

static int test_flags_and_unknown(void)
{
	struct scb_target t = { 0 };
	struct scb_event e = sample(SCB_EV_CONNECT);
	cJSON *o, *f;

	e.arg[0] = SCB_FLAG_RTT | SCB_FLAG_STATE | 0x100;
	o = line_of(&t, &e, -1);
	f = cJSON_GetObjectItemCaseSensitive(o, "flags");
	CHECK(cJSON_GetArraySize(f) == 3);
	CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetArrayItem(f, 2)), "0x100"));
	cJSON_Delete(o);
	e = sample(999);
	o = line_of(&t, &e, -1);
	CHECK(o && !strcmp(str(o, "event"), "?"));
	cJSON_Delete(o);
	return 0;
}

/* IPv6, and v4-mapped addresses shown as IPv4. */
static int test_ipv6(void)
{
	struct scb_target t = { 0 };
	struct scb_event e = sample(SCB_EV_RTT);
	cJSON *o;

	e.family = 10;
	memset(e.saddr, 0, sizeof(e.saddr));
	memset(e.daddr, 0, sizeof(e.daddr));
	e.saddr[3] = e.daddr[3] = htonl(1);
	o = line_of(&t, &e, -1);
	CHECK(o && !strcmp(str(o, "family"), "ipv6") && !strcmp(str(o, "saddr"), "::1"));
	cJSON_Delete(o);
	e.saddr[2] = e.daddr[2] = htonl(0xffff);
	e.saddr[3] = htonl(0x7f000001);
	o = line_of(&t, &e, -1);
	CHECK(o && !strcmp(str(o, "family"), "ipv4") && !strcmp(str(o, "saddr"), "127.0.0.1"));
	cJSON_Delete(o);
	return 0;
}

int main(void)
{
	RUN_TEST(test_rtt_fields);
	RUN_TEST(test_hostile_names);
	RUN_TEST(test_close_duration);
	RUN_TEST(test_flags_and_unknown);
	RUN_TEST(test_ipv6);
	return tap_done();
}
