/* test_form.c - form.h: x-www-form-urlencoded lookup and decoding over
 * untrusted bytes: '+', %XX, bad escapes, %00, overlong values, absent
 * and duplicate names, and names that are prefixes of others. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "form.h"

static int get(const char *s, const char *name, char *out, size_t outlen)
{
	return form_get(s, s ? strlen(s) : 0, name, out, outlen);
}

static void test_get_basic(void **state)
{
	(void)state;
	char out[64];
	assert_int_equal(get("username=alice&password=secret", "username", out, sizeof(out)), 1);
	assert_string_equal(out, "alice");
	assert_int_equal(get("username=alice&password=secret", "password", out, sizeof(out)), 1);
	assert_string_equal(out, "secret");
	assert_int_equal(get("a=1", "a", out, sizeof(out)), 1);
	assert_string_equal(out, "1");
}

static void test_get_decoding(void **state)
{
	(void)state;
	char out[64];
	assert_int_equal(get("q=hello+world", "q", out, sizeof(out)), 1);
	assert_string_equal(out, "hello world");
	assert_int_equal(get("q=%41%62%2b%2B%20%7e", "q", out, sizeof(out)), 1);
	assert_string_equal(out, "Ab++ ~");
	assert_int_equal(get("q=%26%3D", "q", out, sizeof(out)), 1);
	assert_string_equal(out, "&=");
	assert_int_equal(get("q=caf%C3%A9", "q", out, sizeof(out)), 1);
	assert_string_equal(out, "caf\xc3\xa9");
	assert_int_equal(get("q=a=b", "q", out, sizeof(out)), 1);
	assert_string_equal(out, "a=b");
}

static void test_get_empty_value(void **state)
{
	(void)state;
	char out[8] = "junk";
	assert_int_equal(get("a=&b=2", "a", out, sizeof(out)), 1);
	assert_string_equal(out, "");
	assert_int_equal(get("b=2&a=", "a", out, sizeof(out)), 1);
	assert_string_equal(out, "");
}

static void test_get_bad_encoding(void **state)
{
	(void)state;
	char out[64];
	const char *bad[] = {"q=%", "q=%4", "q=%zz", "q=%g1", "q=ab%", "q=ab%2", "q=%%41"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(get(bad[i], "q", out, sizeof(out)), -1);
}

static void test_get_nul_rejected(void **state)
{
	(void)state;
	char out[64];
	assert_int_equal(get("q=a%00b", "q", out, sizeof(out)), -1);
	assert_int_equal(get("q=%00", "q", out, sizeof(out)), -1);
}

static void test_get_too_long(void **state)
{
	(void)state;
	char out[4];
	/* exactly outlen - 1 fits */
	assert_int_equal(get("q=abc", "q", out, sizeof(out)), 1);
	assert_string_equal(out, "abc");
	assert_int_equal(get("q=abcd", "q", out, sizeof(out)), -1);
	assert_string_equal(out, "");
	/* the decoded length counts, not the encoded one */
	assert_int_equal(get("q=%41%42%43", "q", out, sizeof(out)), 1);
	assert_string_equal(out, "ABC");
	assert_int_equal(get("q=%41%42%43%44", "q", out, sizeof(out)), -1);
	assert_string_equal(out, "");
}

static void test_get_absent(void **state)
{
	(void)state;
	char out[16];
	assert_int_equal(get("a=1&b=2", "c", out, sizeof(out)), 0);
	assert_int_equal(get("", "a", out, sizeof(out)), 0);
	assert_int_equal(form_get(NULL, 0, "a", out, sizeof(out)), 0);
	assert_int_equal(get("&&&", "a", out, sizeof(out)), 0);
	/* the name must be a whole name, never part of a value */
	assert_int_equal(get("x=a=1", "a", out, sizeof(out)), 0);
	assert_int_equal(get("x=1&xa=2", "a", out, sizeof(out)), 0);
}

static void test_get_duplicates_first_wins(void **state)
{
	(void)state;
	char out[16];
	assert_int_equal(get("a=1&a=2", "a", out, sizeof(out)), 1);
	assert_string_equal(out, "1");
	assert_int_equal(get("b=0&a=first&c=3&a=second", "a", out, sizeof(out)), 1);
	assert_string_equal(out, "first");
}

static void test_get_name_prefix(void **state)
{
	(void)state;
	char out[16];
	assert_int_equal(get("username=bob&user=al", "user", out, sizeof(out)), 1);
	assert_string_equal(out, "al");
	assert_int_equal(get("username=bob", "user", out, sizeof(out)), 0);
	assert_int_equal(get("user=al&username=bob", "username", out, sizeof(out)), 1);
	assert_string_equal(out, "bob");
	assert_int_equal(get("user=al", "username", out, sizeof(out)), 0);
	assert_int_equal(get("xuser=al", "user", out, sizeof(out)), 0);
}

static void test_get_respects_len(void **state)
{
	(void)state;
	char out[16];
	const char *s = "a=12345&b=6";
	assert_int_equal(form_get(s, 4, "a", out, sizeof(out)), 1);
	assert_string_equal(out, "12");
	assert_int_equal(form_get(s, 4, "b", out, sizeof(out)), 0);
	/* a buffer that is not NUL-terminated */
	char raw[3] = {'a', '=', 'z'};
	assert_int_equal(form_get(raw, sizeof(raw), "a", out, sizeof(out)), 1);
	assert_string_equal(out, "z");
	/* an escape cut by len is bad, even if the bytes after it are fine */
	assert_int_equal(form_get("a=%41", 4, "a", out, sizeof(out)), -1);
}

static void test_decode(void **state)
{
	(void)state;
	char out[32];
	const char *s = "a+b%20c%2F";
	assert_int_equal(form_decode(s, strlen(s), out, sizeof(out)), 6);
	assert_string_equal(out, "a b c/");
	assert_int_equal(form_decode("", 0, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(form_decode("%zz", 3, out, sizeof(out)), -1);
	assert_int_equal(form_decode("%4", 2, out, sizeof(out)), -1);
	assert_int_equal(form_decode("x%00", 4, out, sizeof(out)), -1);
	/* too long: 4 bytes into a 4-byte buffer (needs room for the NUL) */
	assert_int_equal(form_decode("abcd", 4, out, 4), -1);
	assert_int_equal(form_decode("abc", 3, out, 4), 3);
	assert_string_equal(out, "abc");
	/* len bounds the input */
	assert_int_equal(form_decode("abcdef", 2, out, sizeof(out)), 2);
	assert_string_equal(out, "ab");
}

static void test_decode_all_bytes(void **state)
{
	(void)state;
	/* every byte 1..255 survives encoding as %XX */
	char enc[256 * 3 + 1];
	char out[256];
	size_t n = 0;
	for (int c = 1; c < 256; c++)
		n += (size_t)snprintf(enc + n, sizeof(enc) - n, "%%%02X", c);
	assert_int_equal(form_decode(enc, n, out, sizeof(out)), 255);
	for (int c = 1; c < 256; c++)
		assert_int_equal((unsigned char)out[c - 1], c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_get_basic),
	        cmocka_unit_test(test_get_decoding),
	        cmocka_unit_test(test_get_empty_value),
	        cmocka_unit_test(test_get_bad_encoding),
	        cmocka_unit_test(test_get_nul_rejected),
	        cmocka_unit_test(test_get_too_long),
	        cmocka_unit_test(test_get_absent),
	        cmocka_unit_test(test_get_duplicates_first_wins),
	        cmocka_unit_test(test_get_name_prefix),
	        cmocka_unit_test(test_get_respects_len),
	        cmocka_unit_test(test_decode),
	        cmocka_unit_test(test_decode_all_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
