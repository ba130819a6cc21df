// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* `sockops-cb flags`: which callback flags this kernel has, read from
 * its own BTF (the value of BPF_SOCK_OPS_ALL_CB_FLAGS in the uapi enum
 * compiled into it), and what each one makes the kernel do. */
#include <argp.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "args.h"
#include "cmd.h"
#include "flagnames.h"
#include "kfeatures.h"
#include "kflags.h"
#include "sockops.h"

static const char flags_doc[] =
	"Show which sock_ops callback flags this kernel has (from its BTF) and\n"
	"what each makes the kernel call the program for; then the other kernel\n"
	"features sockops-cb uses, probed, with what is lost without each\n"
	"(docs/kernels.md has the table per kernel). The RTT values are kernel\n"
	"samples from Linux 6.10 and the smoothed RTT before (stats counts them\n"
	"as rtt_smoothed).\n"
	"\n"
	"EXAMPLES:\n"
	"    sockops-cb flags\n"
	"    sockops-cb flags --json";

static error_t flags_parse(int key, char *arg, struct argp_state *state)
{
	return view_parse(key, arg, state, state->input, NULL, NULL);
}

/* What the kernel does for a socket with the flag. */
static const char *flag_effect(uint32_t bit)
{
	switch (bit) {
	case SCB_FLAG_RTO:
		return "RTO_CB at each retransmission timeout";
	case SCB_FLAG_RETRANS:
		return "RETRANS_CB per retransmitted skb (with its segment count)";
	case SCB_FLAG_STATE:
		return "STATE_CB at each TCP state change";
	case SCB_FLAG_RTT:
		return "RTT_CB once per RTT window (sample and srtt from Linux 6.10)";
	case SCB_FLAG_PARSE_ALL_HDR_OPT:
		return "PARSE_HDR_OPT_CB on every segment received";
	case SCB_FLAG_PARSE_UNKNOWN_HDR_OPT:
		return "PARSE_HDR_OPT_CB on segments with an unknown option";
	case SCB_FLAG_WRITE_HDR_OPT:
		return "HDR_OPT_LEN_CB (+ WRITE_HDR_OPT_CB) on every segment sent";
	default:
		return "";
	}
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
			cJSON_AddStringToObject(o, "effect", flag_effect(bit));
			json_print_line(o);
		} else {
			printf("%-22s 0x%02x  %-9s %s\n", name, bit, supported & bit ? "yes" : "no",
			       flag_effect(bit));
		}
	}
}

/* The features other than flags that the kernel may lack (kfeatures.c). */
static void print_features(bool json)
{
	const struct scb_feature_info *fi;
	cJSON *o;
	int f;

	if (!json)
		printf("With identity on in the config, the three header-option flags act in the\n"
		       "handshake only: announce and learn pod identities (docs/identity.md).\n"
		       "\n%-22s %-9s %s\n", "FEATURE", "AVAILABLE", "NEEDS / WITHOUT IT");
	for (f = 0; f < SCB_N_FEATURES; f++) {
		fi = feature_info(f);
		if (json) {
			o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "feature", fi->name);
			cJSON_AddBoolToObject(o, "available", feature_has(f));
			cJSON_AddStringToObject(o, "needs", fi->needs);
			cJSON_AddStringToObject(o, "without", fi->without);
			json_print_line(o);
		} else {
			printf("%-22s %-9s %s\n", fi->name, feature_has(f) ? "yes" : "no",
			       feature_has(f) ? fi->needs : fi->without);
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
	uint32_t supported = 0;
	bool json = false;

	argp_parse(&argp, argc, argv, 0, NULL, &json);
	if (kernel_cb_flags(&supported, err))
		return -1;
	if (!json)
		printf("%-22s %-5s %-9s %s\n", "FLAG", "BIT", "SUPPORTED", "THE KERNEL CALLS");
	print_flags(supported & SCB_FLAGS_KNOWN, json);
	print_features(json);
	return 0;
}
