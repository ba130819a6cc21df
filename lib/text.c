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

const char *text_fit(const char *s, int width, char *buf)
{
	if ((int)strlen(s) <= width)
		return s;
	memcpy(buf, s, width - 1);
	buf[width - 1] = '~';
	buf[width] = 0;
	return buf;
}

bool text_valid_set_name(const char *name)
{
	return valid_word(name, 31);
}

/* One input byte as shown: itself, or \xNN; returns its length. */
static int escape_char(unsigned char c, char tmp[5])
{
	if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
		tmp[0] = c;
		tmp[1] = '\0';
		return 1;
	}
	return snprintf(tmp, 5, "\\x%02x", c);
}

const char *text_escape(const char *in, char *out, size_t len)
{
	const unsigned char *p, *s = (const unsigned char *)(in ? in : "");
	size_t need = 0, o = 0, limit;
	char tmp[5];
	int n;

	if (!len)
		return out;
	for (p = s; *p; p++)
		need += escape_char(*p, tmp);
	/* Whole characters only, with room for "..." when cut. */
	limit = need < len ? need : (len > 4 ? len - 4 : 0);
	for (p = s; *p; p++) {
		n = escape_char(*p, tmp);
		if (o + n > limit)
			break;
		memcpy(out + o, tmp, n);
		o += n;
	}
	if (need >= len && len >= 4)
		memcpy(out + o, "...", 4);
	else
		out[o] = '\0';
	return out;
}

void text_label(char *dst, size_t len, const char *src)
{
	size_t o = 0;
	const unsigned char *p;

	if (!len)
		return;
	for (p = (const unsigned char *)src; p && *p && o + 1 < len; p++)
		dst[o++] = (*p >= 0x20 && *p < 0x7f) ? *p : '?';
	dst[o] = '\0';
}

const char *text_bytes(unsigned long long v, char *buf, size_t len)
{
	static const char units[] = "KMGTP";
	double x = v;
	int u = -1;

	if (v < 10000) {
		snprintf(buf, len, "%llu", v);
		return buf;
	}
	while (x >= 1000 && u < 4) {
		x /= 1024;
		u++;
	}
	snprintf(buf, len, "%.1f%c", x, units[u]);
	return buf;
}
