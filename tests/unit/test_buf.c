/* test_buf.c - buf.h: growth, NUL termination, printf, reuse, and JSON
 * string escaping (checked by parsing the result with json-c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "buf.h"

static void test_empty(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_string_equal(buf_str(&b), "");
	buf_release(&b);
	/* release of a never-written buf, then reuse */
	buf_init(&b);
	buf_adds(&b, "x");
	assert_string_equal(buf_str(&b), "x");
	buf_release(&b);
}

static void test_add_and_growth(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b);
	for (int i = 0; i < 100000; i++)
		buf_addc(&b, (char)('a' + i % 26));
	assert_int_equal(b.len, 100000);
	assert_true(b.cap > b.len);
	assert_int_equal(b.data[b.len], '\0');
	assert_int_equal(strlen(buf_str(&b)), 100000);
	for (size_t i = 0; i < b.len; i++)
		assert_int_equal(b.data[i], 'a' + (int)(i % 26));
	buf_release(&b);
}

static void test_add_bytes_with_nul(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b);
	buf_add(&b, "ab\0cd", 5);
	assert_int_equal(b.len, 5);
	assert_memory_equal(b.data, "ab\0cd", 5);
	assert_int_equal(b.data[5], '\0');
	buf_add(&b, "", 0);
	assert_int_equal(b.len, 5);
	buf_adds(&b, "ef");
	assert_int_equal(b.len, 7);
	assert_memory_equal(b.data, "ab\0cdef", 8);
	buf_release(&b);
}

static void test_big_single_add(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b);
	size_t n = 3 * 1024 * 1024 + 7;
	char *big = malloc(n);
	assert_non_null(big);
	memset(big, 'q', n);
	buf_adds(&b, "<");
	buf_add(&b, big, n);
	buf_adds(&b, ">");
	assert_int_equal(b.len, n + 2);
	assert_int_equal(b.data[0], '<');
	assert_int_equal(b.data[n], 'q');
	assert_int_equal(b.data[n + 1], '>');
	assert_int_equal(b.data[n + 2], '\0');
	free(big);
	buf_release(&b);
}

static void test_reset(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b);
	buf_adds(&b, "hello");
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(buf_str(&b), "");
	buf_adds(&b, "again");
	assert_string_equal(buf_str(&b), "again");
	assert_int_equal(b.len, 5);
	buf_release(&b);
}

static void test_printf(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b);
	buf_printf(&b, "%d-%s", 42, "x");
	assert_string_equal(buf_str(&b), "42-x");
	buf_printf(&b, "|%zu|%lld", (size_t)7, -5LL);
	assert_string_equal(buf_str(&b), "42-x|7|-5");

	/* longer than any reasonable initial capacity */
	char *big = malloc(10001);
	assert_non_null(big);
	memset(big, 'z', 10000);
	big[10000] = '\0';
	buf_printf(&b, "[%s]", big);
	assert_int_equal(b.len, 9 + 10002);
	assert_int_equal(b.data[9], '[');
	assert_int_equal(b.data[b.len - 1], ']');
	assert_int_equal(b.data[b.len], '\0');
	assert_int_equal(strlen(b.data), b.len);
	free(big);

	buf_printf(&b, "%s", "");
	assert_int_equal(b.len, 9 + 10002);
	buf_release(&b);
}

/* Wrap the escaped text in quotes, parse it strictly, return the decoded
 * string (malloc'd) or NULL when it is not valid JSON. */
static char *json_roundtrip(const char *escaped, size_t *outlen)
{
	struct buf q;
	buf_init(&q);
	buf_addc(&q, '"');
	buf_adds(&q, escaped);
	buf_addc(&q, '"');
	struct json_tokener *tok = json_tokener_new();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	struct json_object *o = json_tokener_parse_ex(tok, q.data, (int)q.len);
	char *res = NULL;
	if (o != NULL && json_tokener_get_error(tok) == json_tokener_success &&
	    json_object_is_type(o, json_type_string)) {
		int n = json_object_get_string_len(o);
		res = malloc((size_t)n + 1);
		memcpy(res, json_object_get_string(o), (size_t)n + 1);
		*outlen = (size_t)n;
	}
	json_object_put(o);
	json_tokener_free(tok);
	buf_release(&q);
	return res;
}

static void check_escape(const char *s)
{
	struct buf b;
	buf_init(&b);
	buf_adds(&b, "pre");
	buf_add_json_str(&b, s);
	const char *esc = buf_str(&b) + 3;
	assert_memory_equal(buf_str(&b), "pre", 3);
	for (const unsigned char *p = (const unsigned char *)esc; *p; p++)
		assert_true(*p >= 0x20); /* no raw control characters */
	size_t n = 0;
	char *back = json_roundtrip(esc, &n);
	assert_non_null(back);
	assert_int_equal(n, strlen(s));
	assert_string_equal(back, s);
	free(back);
	buf_release(&b);
}

static void test_json_escape_specials(void **state)
{
	(void)state;
	check_escape("");
	check_escape("plain text 123");
	check_escape("say \"hi\"");
	check_escape("back\\slash \\\" mix");
	check_escape("line1\nline2\r\n\ttab");
	check_escape("\b\f");
	check_escape("\x01\x02\x1f end");
	check_escape("\x7f del");
	check_escape("</script>");
}

static void test_json_escape_all_controls(void **state)
{
	(void)state;
	char s[33];
	for (int i = 1; i < 32; i++)
		s[i - 1] = (char)i;
	s[31] = 'x';
	s[32] = '\0';
	check_escape(s);
}

static void test_json_escape_exact_forms(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b);
	buf_add_json_str(&b, "a\"b");
	assert_string_equal(buf_str(&b), "a\\\"b");
	buf_reset(&b);
	buf_add_json_str(&b, "a\\b");
	assert_string_equal(buf_str(&b), "a\\\\b");
	buf_release(&b);
}

static void test_json_utf8_passthrough(void **state)
{
	(void)state;
	const char *s = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9b\xab Z\xc3\xbcrich";
	struct buf b;
	buf_init(&b);
	buf_add_json_str(&b, s);
	assert_string_equal(buf_str(&b), s);
	buf_release(&b);
	check_escape(s);
}

/* Bytes that are not UTF-8 become \ufffd: a JSON log line or body stays
 * valid whatever a decoded path or header held. */
static void test_json_invalid_utf8_replaced(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} cases[] = {
	        {"a\xff"
	         "b",
	         "a\\ufffdb"},                                        /* never valid */
	        {"\xc0\xaf", "\\ufffd\\ufffd"},                       /* overlong '/' */
	        {"\xe0\x80\xaf", "\\ufffd\\ufffd\\ufffd"},            /* overlong, 3 bytes */
	        {"\xed\xa0\x80", "\\ufffd\\ufffd\\ufffd"},            /* a surrogate */
	        {"\xf4\x90\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd"}, /* > U+10FFFF */
	        {"cut \xe2\x82", "cut \\ufffd\\ufffd"},               /* truncated at the end */
	        {"\xc3\xa9\x80", "\xc3\xa9\\ufffd"},                  /* valid, then a stray */
	};
	struct buf b;

	buf_init(&b);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_reset(&b);
		buf_add_json_str(&b, cases[i].in);
		assert_string_equal(buf_str(&b), cases[i].out);
		size_t n = 0;
		char *back = json_roundtrip(buf_str(&b), &n);
		assert_non_null(back); /* json-c reads it back: valid JSON */
		free(back);
	}
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_json_invalid_utf8_replaced),
	        cmocka_unit_test(test_empty),
	        cmocka_unit_test(test_add_and_growth),
	        cmocka_unit_test(test_add_bytes_with_nul),
	        cmocka_unit_test(test_big_single_add),
	        cmocka_unit_test(test_reset),
	        cmocka_unit_test(test_printf),
	        cmocka_unit_test(test_json_escape_specials),
	        cmocka_unit_test(test_json_escape_all_controls),
	        cmocka_unit_test(test_json_escape_exact_forms),
	        cmocka_unit_test(test_json_utf8_passthrough),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
