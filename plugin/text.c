// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdio.h>
#include <string.h>
#include "text.h"

static bool id_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

static bool valid_word(const char *s, size_t max)
{
	size_t n;

	if (!s)
		return false;
	for (n = 0; s[n]; n++)
		if (n >= max || !id_char(s[n]))
			return false;
	return n > 0;
}

bool text_valid_id(const char *id)
{
	/* Ids name pins in bpffs: nothing that walks out of our directory. */
	return valid_word(id, 128) && !strstr(id, "..") && strcmp(id, ".");
}

bool text_valid_set_name(const char *name)
{
	return valid_word(name, 31);
}

const char *text_escape(const char *in, char *out, size_t len)
{
	size_t o = 0;
	const unsigned char *p;

	if (!len)
		return out;
	for (p = (const unsigned char *)in; p && *p; p++) {
		if (o + 8 >= len) {
			if (len >= 4)
				o = len - 4 < o ? len - 4 : o;
			strcpy(out + o, "...");
			return out;
		}
		if (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\')
			out[o++] = *p;
		else
			o += snprintf(out + o, len - o, "\\x%02x", *p);
	}
	out[o] = '\0';
	return out;
}

void text_label(char *dst, size_t len, const char *src)
{
	size_t o = 0;
	const unsigned char *p;

	for (p = (const unsigned char *)src; p && *p && o + 1 < len; p++)
		dst[o++] = (*p >= 0x20 && *p < 0x7f) ? *p : '?';
	dst[o] = '\0';
}
