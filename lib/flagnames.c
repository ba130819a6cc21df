// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cjson/cJSON.h>
#include <linux/types.h>
#include "sockops.h"
#include "flagnames.h"
#include "text.h"

static const struct {
	const char *name;
	uint32_t bit;
} flag_table[] = {
	{ "RTO", SCB_FLAG_RTO },
	{ "RETRANS", SCB_FLAG_RETRANS },
	{ "STATE", SCB_FLAG_STATE },
	{ "RTT", SCB_FLAG_RTT },
	{ "PARSE_ALL_HDR_OPT", SCB_FLAG_PARSE_ALL_HDR_OPT },
	{ "PARSE_UNKNOWN_HDR_OPT", SCB_FLAG_PARSE_UNKNOWN_HDR_OPT },
	{ "WRITE_HDR_OPT", SCB_FLAG_WRITE_HDR_OPT },
};
#define N_FLAGS (sizeof(flag_table) / sizeof(flag_table[0]))
#define FLAG_SEPARATORS ",+ \t"

const char *flags_known_list(void)
{
	return "RTO RETRANS STATE RTT PARSE_ALL_HDR_OPT PARSE_UNKNOWN_HDR_OPT WRITE_HDR_OPT";
}

uint32_t flag_by_name(const char *name)
{
	size_t i;

	for (i = 0; i < N_FLAGS; i++)
		if (!strcasecmp(name, flag_table[i].name))
			return flag_table[i].bit;
	return 0;
}

static int unknown_flag(const char *name, const char *what, int code, struct scb_error **err)
{
	char esc[96];

	return scb_error_set(err, code, "unknown flag \"%s\" in %s (known: %s)",
			     text_escape(name, esc, sizeof(esc)), what, flags_known_list());
}

static void trim(char **s)
{
	char *end;

	while (**s == ' ' || **s == '\t')
		(*s)++;
	end = *s + strlen(*s);
	while (end > *s && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
}

int flags_parse_list(const char *list, const char *what, uint32_t *mask,
		     struct scb_error **err)
{
	char *copy, *tok, *save = NULL;
	uint32_t m = 0, bit;
	int ret = 0;

	copy = strdup(list);
	if (!copy)
		return scb_error_set(err, SCB_ERR_INTERNAL, "out of memory");
	/* Commas, or "+" and spaces where a runtime splits values at commas
	 * (podman --annotation k=RTT+STATE). */
	for (tok = strtok_r(copy, FLAG_SEPARATORS, &save); tok;
	     tok = strtok_r(NULL, FLAG_SEPARATORS, &save)) {
		trim(&tok);
		if (!*tok)
			continue;	/* "RTT, " like "RTT,,STATE" */
		bit = flag_by_name(tok);
		if (!bit) {
			ret = unknown_flag(tok, what, SCB_ERR_INPUT, err);
			break;
		}
		m |= bit;
	}
	if (!ret && !m)
		ret = scb_error_set(err, SCB_ERR_INPUT, "%s names no flag (known: %s)",
				    what, flags_known_list());
	free(copy);
	if (!ret)
		*mask = m;
	return ret;
}

int flags_parse_json(const cJSON *arr, const char *what, uint32_t *mask,
		     struct scb_error **err)
{
	const cJSON *it;
	uint32_t m = 0, bit;

	if (!cJSON_IsArray(arr))
		return scb_error_set(err, SCB_ERR_CONFIG,
				     "%s must be an array of flag names (known: %s)",
				     what, flags_known_list());
	cJSON_ArrayForEach(it, arr) {
		if (!cJSON_IsString(it))
			return scb_error_set(err, SCB_ERR_CONFIG,
					     "%s must hold only strings", what);
		bit = flag_by_name(it->valuestring);
		if (!bit)
			return unknown_flag(it->valuestring, what, SCB_ERR_CONFIG, err);
		m |= bit;
	}
	*mask = m;
	return 0;
}

const char *flags_format(uint32_t mask, char *buf, size_t len)
{
	size_t i, off = 0;

	buf[0] = '\0';
	if (!mask)
		return snprintf(buf, len, "-"), buf;
	for (i = 0; i < N_FLAGS && off < len; i++) {
		if (!(mask & flag_table[i].bit))
			continue;
		off += snprintf(buf + off, len - off, "%s%s", off ? "," : "",
				flag_table[i].name);
		mask &= ~flag_table[i].bit;
	}
	if (mask && off < len)
		snprintf(buf + off, len - off, "%s0x%x", off ? "," : "", mask);
	return buf;
}

const char *flags_json_text(uint32_t mask, char *buf, size_t len)
{
	size_t i, off;

	off = snprintf(buf, len, "[");
	for (i = 0; i < N_FLAGS && off < len; i++) {
		if (!(mask & flag_table[i].bit))
			continue;
		off += snprintf(buf + off, len - off, "%s\"%s\"", off > 1 ? "," : "",
				flag_table[i].name);
		mask &= ~flag_table[i].bit;
	}
	if (mask && off < len)
		off += snprintf(buf + off, len - off, "%s\"0x%x\"", off > 1 ? "," : "", mask);
	if (off < len)
		snprintf(buf + off, len - off, "]");
	return buf;
}

cJSON *flags_to_json(uint32_t mask)
{
	cJSON *arr = cJSON_CreateArray();
	char hex[16];
	size_t i;

	for (i = 0; arr && i < N_FLAGS; i++) {
		if (mask & flag_table[i].bit) {
			cJSON_AddItemToArray(arr, cJSON_CreateString(flag_table[i].name));
			mask &= ~flag_table[i].bit;
		}
	}
	if (arr && mask) {
		snprintf(hex, sizeof(hex), "0x%x", mask);
		cJSON_AddItemToArray(arr, cJSON_CreateString(hex));
	}
	return arr;
}

/* What the header-option flags cost: the kernel calls the program for
 * segments, and with no identity configured nothing is written or read
 * beyond counting the calls (hdr_opt). NULL when mask has none. */
const char *hdr_opt_note(uint32_t mask)
{
	bool write = mask & SCB_FLAG_WRITE_HDR_OPT;
	bool all = mask & SCB_FLAG_PARSE_ALL_HDR_OPT;
	bool unknown = mask & SCB_FLAG_PARSE_UNKNOWN_HDR_OPT;

	if (write && all)
		return "WRITE_HDR_OPT and PARSE_ALL_HDR_OPT: the program runs on every segment sent and received; nothing is written or read, it only counts the calls (hdr_opt)";
	if (write)
		return "WRITE_HDR_OPT: the program runs at least once for every segment sent; nothing is written, it only counts the calls (hdr_opt)";
	if (all)
		return "PARSE_ALL_HDR_OPT: the program runs on every segment received; it only counts the calls (hdr_opt)";
	if (unknown)
		return "PARSE_UNKNOWN_HDR_OPT: the program runs on every received segment with an option the kernel does not know; it only counts the calls (hdr_opt)";
	return NULL;
}

const char *flags_letters(uint32_t flags, char *buf)
{
	static const char letters[] = "ORSTPUW";
	int i, n = 0;

	for (i = 0; letters[i]; i++)
		if (flags & (1U << i))
			buf[n++] = letters[i];
	if (!n)
		buf[n++] = '-';
	buf[n] = 0;
	return buf;
}
