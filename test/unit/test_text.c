// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* text.c: container id validation and safe display of untrusted strings. */
#include "tap.h"
#include "text.h"

#define CANARY 0xA5
#define PAD 32

/* A string of n copies of c (n < 1024). */
static const char *repeat(char c, size_t n)
{
	static char buf[1024];

	memset(buf, c, n);
	buf[n] = '\0';
	return buf;
}

static int test_id_accepts(void)
{
	CHECK(text_valid_id("a"));
	CHECK(text_valid_id("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
	CHECK(text_valid_id("my-pod_1.ctr"));
	CHECK(text_valid_id(".a"));	/* a dot is fine, only "." and ".." are not */
	CHECK(text_valid_id(repeat('x', 128)));
	return 0;
}

static int test_id_rejects_length(void)
{
	CHECK(!text_valid_id(""));
	CHECK(!text_valid_id(NULL));
	CHECK(!text_valid_id(repeat('x', 129)));
	CHECK(!text_valid_id(repeat('x', 1000)));
	return 0;
}

static int test_id_rejects_paths(void)
{
	CHECK(!text_valid_id("../x"));
	CHECK(!text_valid_id("a/b"));
	CHECK(!text_valid_id("/abc"));
	CHECK(!text_valid_id(".."));
	CHECK(!text_valid_id("."));
	CHECK(!text_valid_id("a..b"));
	CHECK(!text_valid_id("abc.."));
	return 0;
}

static int test_id_rejects_chars(void)
{
	CHECK(!text_valid_id("a b"));
	CHECK(!text_valid_id(" abc"));
	CHECK(!text_valid_id("abc\n"));
	CHECK(!text_valid_id("a\tb"));
	CHECK(!text_valid_id("caf\xc3\xa9"));	/* UTF-8 é */
	CHECK(!text_valid_id("\xe2\x80\x8b" "abc"));	/* zero-width space */
	CHECK(!text_valid_id("a:b"));
	CHECK(!text_valid_id("a*"));
	CHECK(!text_valid_id("a\\b"));
	return 0;
}

/* A C string ends at NUL: "abc\0/x" is seen as "abc" and accepted.  The
 * JSON layer (cJSON) already cuts "\u0000" there, so callers never hold
 * the bytes after it; this documents that text_valid_id cannot see them. */
static int test_id_nul_embedded(void)
{
	static const char embedded[] = "abc\0/x";

	CHECK(text_valid_id(embedded));
	CHECK(!text_valid_id(embedded + 4));	/* the tail on its own: "/x" */
	return 0;
}

static int test_set_name(void)
{
	CHECK(text_valid_set_name("full"));
	CHECK(text_valid_set_name("rtt-only_v1.2"));
	CHECK(text_valid_set_name(repeat('s', 31)));
	CHECK(!text_valid_set_name(repeat('s', 32)));
	CHECK(!text_valid_set_name(""));
	CHECK(!text_valid_set_name(NULL));
	CHECK(!text_valid_set_name("a b"));
	CHECK(!text_valid_set_name("a/b"));
	return 0;
}

static int test_escape_plain(void)
{
	char out[64];

	CHECK_STR(text_escape("hello-World_1.2", out, sizeof(out)), "hello-World_1.2");
	CHECK_STR(text_escape("", out, sizeof(out)), "");
	CHECK_STR(text_escape(NULL, out, sizeof(out)), "");
	CHECK(text_escape("x", out, sizeof(out)) == out);
	return 0;
}

static int test_escape_specials(void)
{
	char out[64];

	CHECK_STR(text_escape("a\nb", out, sizeof(out)), "a\\x0ab");
	CHECK_STR(text_escape("\x1b[31m", out, sizeof(out)), "\\x1b[31m");
	CHECK_STR(text_escape("\t\r", out, sizeof(out)), "\\x09\\x0d");
	CHECK_STR(text_escape("say \"hi\"", out, sizeof(out)), "say \\x22hi\\x22");
	CHECK_STR(text_escape("a\\b", out, sizeof(out)), "a\\x5cb");
	CHECK_STR(text_escape("\x7f", out, sizeof(out)), "\\x7f");
	CHECK_STR(text_escape("\xc3\xa9", out, sizeof(out)), "\\xc3\\xa9");
	return 0;
}

static const char *const escape_inputs[] = {
	"", "a", "abc", "abcdefghijklmnopqrstuvwxyz", "\x01\x02\x03\x04\x05",
	"ab\"cd\\ef\ngh", "\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8",
};
#define N_ESCAPE_INPUTS (sizeof(escape_inputs) / sizeof(escape_inputs[0]))

/* Whether `off` bytes of the escaped form of `in` end between two input
 * characters (a "\xNN" is not cut). */
static bool piece_boundary(const unsigned char *in, size_t off)
{
	size_t o = 0;

	for (; o < off && *in; in++)
		o += (*in >= 0x20 && *in < 0x7f && *in != '"' && *in != '\\') ? 1 : 4;
	return o == off;
}

/* Safety: never a byte past the buffer, always a NUL inside it.  Content
 * (when `content`): the whole escaped input when it fits, else a prefix
 * of it followed by "..." (buffers of 4 bytes and more). */
static int check_escape_in(const char *in, size_t len, bool content)
{
	unsigned char mem[16 + PAD];
	char want[256];
	size_t i, n, wn;

	memset(mem, CANARY, sizeof(mem));
	text_escape(in, (char *)mem, len);
	for (i = sizeof(mem); i > len; i--) {
		if (mem[i - 1] != CANARY) {
			tap_diag("text_escape(\"%s\", len %zu) wrote %zu byte(s) past the buffer",
				 tap_show(in), len, i - len);
			return -1;
		}
	}
	n = strnlen((char *)mem, len);
	if (n >= len) {
		tap_diag("text_escape(\"%s\", len %zu): no NUL inside the buffer",
			 tap_show(in), len);
		return -1;
	}
	if (!content)
		return 0;
	text_escape(in, want, sizeof(want));	/* the untruncated form */
	wn = strlen(want);
	if (wn < len && strcmp((char *)mem, want)) {
		tap_diag("text_escape(\"%s\", len %zu) is \"%s\", but \"%s\" fits",
			 tap_show(in), len, tap_show((char *)mem), tap_show(want));
		return -1;
	}
	if (wn >= len && len >= 4) {
		if (n < 3 || strcmp((char *)mem + n - 3, "...") ||
		    strncmp((char *)mem, want, n - 3) || !piece_boundary((const unsigned char *)in, n - 3)) {
			tap_diag("text_escape(\"%s\", len %zu) is \"%s\", expected whole pieces of \"%s\" and \"...\"",
				 tap_show(in), len, tap_show((char *)mem), tap_show(want));
			return -1;
		}
	}
	return 0;
}

static int test_escape_small_buffers_no_overflow(void)
{
	size_t len, i;
	int ret = 0;

	for (i = 0; i < N_ESCAPE_INPUTS; i++)
		for (len = 1; len <= 16; len++)
			if (check_escape_in(escape_inputs[i], len, false))
				ret = -1;
	return ret;
}

/* "abc" fits in 4 bytes: it must not come out as "..." or "ab...". */
static int test_escape_small_buffers_content(void)
{
	size_t len, i;
	int ret = 0;

	for (i = 0; i < N_ESCAPE_INPUTS; i++)
		for (len = 4; len <= 16; len++)
			if (check_escape_in(escape_inputs[i], len, true))
				ret = -1;
	return ret;
}

/* The common case: a long value in the 96-byte buffers the plugin uses. */
static int test_escape_truncates_long(void)
{
	char out[96 + PAD];
	size_t i;

	memset(out, CANARY, sizeof(out));
	text_escape(repeat('z', 500), out, 96);
	CHECK(strlen(out) < 96);
	CHECK(strlen(out) > 80);	/* cut near the end, not at the start */
	CHECK_STR(out + strlen(out) - 3, "...");
	CHECK(strspn(out, "z") == strlen(out) - 3);
	for (i = 96; i < sizeof(out); i++)
		CHECK_INT((unsigned char)out[i], CANARY);

	/* escapes are never cut in half */
	memset(out, CANARY, sizeof(out));
	text_escape(repeat('\x01', 200), out, 96);
	CHECK(strlen(out) < 96);
	CHECK_STR(out + strlen(out) - 3, "...");
	CHECK_INT((strlen(out) - 3) % 4, 0);
	CHECK(!strncmp(out, "\\x01\\x01", 8));
	return 0;
}

static int test_escape_zero_len(void)
{
	char out[4] = { 'x', 'y', 'z', 'w' };

	CHECK(text_escape("abc", out, 0) == out);
	CHECK(!memcmp(out, "xyzw", 4));
	return 0;
}

static int test_label(void)
{
	char out[64];

	text_label(out, sizeof(out), "web-1");
	CHECK_STR(out, "web-1");
	text_label(out, sizeof(out), "a\nb\x1b[0m\x7f");
	CHECK_STR(out, "a?b?[0m?");
	text_label(out, sizeof(out), "caf\xc3\xa9");
	CHECK_STR(out, "caf??");
	text_label(out, sizeof(out), NULL);
	CHECK_STR(out, "");
	text_label(out, 4, "abcdef");
	CHECK_STR(out, "abc");
	return 0;
}

static int test_label_small_buffers(void)
{
	unsigned char mem[16 + PAD];
	size_t len, i;

	for (len = 1; len <= 16; len++) {
		memset(mem, CANARY, sizeof(mem));
		text_label((char *)mem, len, "abcdefghijklmnopqrstuvwxyz\n\n\n");
		for (i = len; i < sizeof(mem); i++)
			CHECK_INT(mem[i], CANARY);
		CHECK_INT(strlen((char *)mem), len - 1);
		CHECK(!strncmp((char *)mem, "abcdefghijklmnop", len - 1));
	}
	return 0;
}

/* Like text_escape: a zero-length field gets nothing written. */
static int test_label_zero_len(void)
{
	char out[4] = { 'x', 'y', 'z', 'w' };

	text_label(out, 0, "abc");
	CHECK(!memcmp(out, "xyzw", 4));
	return 0;
}

int main(void)
{
	RUN_TEST(test_id_accepts);
	RUN_TEST(test_id_rejects_length);
	RUN_TEST(test_id_rejects_paths);
	RUN_TEST(test_id_rejects_chars);
	RUN_TEST(test_id_nul_embedded);
	RUN_TEST(test_set_name);
	RUN_TEST(test_escape_plain);
	RUN_TEST(test_escape_specials);
	RUN_TEST(test_escape_small_buffers_no_overflow);
	RUN_TEST(test_escape_small_buffers_content);
	RUN_TEST(test_escape_truncates_long);
	RUN_TEST(test_escape_zero_len);
	RUN_TEST(test_label);
	RUN_TEST(test_label_small_buffers);
	RUN_TEST(test_label_zero_len);
	return tap_done();
}
