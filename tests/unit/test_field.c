/* test_field.c - field.h: each typed reader (present, absent optional,
 * absent required, wrong type, bounds), the 422 error object shape, money
 * as exact cents, query-string readers and paging. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "field.h"

static struct json_object *parse(const char *text)
{
	struct json_object *o = json_tokener_parse(text);
	if (o == NULL)
		fail_msg("test JSON does not parse: %s", text);
	return o;
}

/* Error i of e has loc [where, name] and non-empty msg and type. */
static void check_error(struct field_errors *e, int i, const char *where, const char *name)
{
	assert_non_null(e->list);
	assert_true(json_object_is_type(e->list, json_type_array));
	assert_int_equal(json_object_array_length(e->list), (size_t)e->count);
	assert_true(i < e->count);
	struct json_object *err = json_object_array_get_idx(e->list, (size_t)i);
	assert_true(json_object_is_type(err, json_type_object));
	struct json_object *loc, *msg, *type;
	assert_true(json_object_object_get_ex(err, "loc", &loc));
	assert_true(json_object_object_get_ex(err, "msg", &msg));
	assert_true(json_object_object_get_ex(err, "type", &type));
	assert_true(json_object_is_type(loc, json_type_array));
	assert_int_equal(json_object_array_length(loc), 2);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(loc, 0)), where);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(loc, 1)), name);
	assert_true(json_object_is_type(msg, json_type_string));
	assert_true(json_object_is_type(type, json_type_string));
	assert_true(strlen(json_object_get_string(msg)) > 0);
	assert_true(strlen(json_object_get_string(type)) > 0);
}

/* The reader's result for an absent required field: not 1, one error. */
static void check_absent_required(int rc, struct field_errors *e, const char *name)
{
	assert_true(rc == 0 || rc == -1);
	assert_int_equal(e->count, 1);
	check_error(e, 0, "body", name);
}

static void test_errors_init_add(void **state)
{
	(void)state;
	struct field_errors e;
	field_errors_init(&e);
	assert_int_equal(e.count, 0);
	field_error_add(&e, "body", "email", "value is not a valid email", "value_error");
	field_error_add(&e, "query", "limit", "too big", "value_error");
	assert_int_equal(e.count, 2);
	check_error(&e, 0, "body", "email");
	check_error(&e, 1, "query", "limit");
	struct json_object *m;
	json_object_object_get_ex(json_object_array_get_idx(e.list, 0), "msg", &m);
	assert_string_equal(json_object_get_string(m), "value is not a valid email");
	field_errors_release(&e);
	/* release of an empty set */
	field_errors_init(&e);
	field_errors_release(&e);
}

static void test_str(void **state)
{
	(void)state;
	struct field_errors e;
	field_errors_init(&e);
	struct json_object *o = parse("{\"name\":\"alice\",\"n\":5,\"empty\":\"\","
	                              "\"u\":\"caf\\u00e9\",\"nul\":\"a\\u0000b\",\"arr\":[],"
	                              "\"obj\":{},\"t\":true}");
	const char *s = NULL;
	assert_int_equal(field_str(o, "name", 1, 10, FIELD_REQUIRED, &s, &e), 1);
	assert_string_equal(s, "alice");
	assert_int_equal(e.count, 0);
	/* bounds are inclusive, in bytes */
	assert_int_equal(field_str(o, "name", 5, 5, FIELD_REQUIRED, &s, &e), 1);
	assert_int_equal(field_str(o, "u", 5, 5, FIELD_REQUIRED, &s, &e), 1);
	assert_string_equal(s, "caf\xc3\xa9");
	assert_int_equal(field_str(o, "u", 1, 4, FIELD_REQUIRED, &s, &e), -1);
	assert_int_equal(e.count, 1);
	check_error(&e, 0, "body", "u");
	assert_int_equal(field_str(o, "name", 6, 10, FIELD_REQUIRED, &s, &e), -1);
	assert_int_equal(field_str(o, "name", 1, 4, FIELD_REQUIRED, &s, &e), -1);
	assert_int_equal(field_str(o, "empty", 1, 4, FIELD_OPTIONAL, &s, &e), -1);
	assert_int_equal(e.count, 4);
	check_error(&e, 3, "body", "empty");
	assert_int_equal(field_str(o, "empty", 0, 4, FIELD_REQUIRED, &s, &e), 1);
	assert_string_equal(s, "");
	field_errors_release(&e);

	/* wrong types */
	const char *wrong[] = {"n", "arr", "obj", "t"};
	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
		field_errors_init(&e);
		assert_int_equal(field_str(o, wrong[i], 0, 100, FIELD_OPTIONAL, &s, &e), -1);
		assert_int_equal(e.count, 1);
		check_error(&e, 0, "body", wrong[i]);
		field_errors_release(&e);
	}
	/* embedded NUL */
	field_errors_init(&e);
	assert_int_equal(field_str(o, "nul", 0, 100, FIELD_OPTIONAL, &s, &e), -1);
	check_error(&e, 0, "body", "nul");
	field_errors_release(&e);
	json_object_put(o);
}

static void test_str_bad_utf8(void **state)
{
	(void)state;
	struct field_errors e;
	field_errors_init(&e);
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "bad", json_object_new_string("ab\xff"));
	json_object_object_add(o, "trunc", json_object_new_string("ab\xc3"));
	json_object_object_add(o, "overlong", json_object_new_string("\xc0\xaf"));
	json_object_object_add(o, "nul", json_object_new_string_len("a\0b", 3));
	const char *s = NULL;
	assert_int_equal(field_str(o, "bad", 0, 100, FIELD_REQUIRED, &s, &e), -1);
	assert_int_equal(field_str(o, "trunc", 0, 100, FIELD_REQUIRED, &s, &e), -1);
	assert_int_equal(field_str(o, "overlong", 0, 100, FIELD_REQUIRED, &s, &e), -1);
	assert_int_equal(field_str(o, "nul", 0, 100, FIELD_REQUIRED, &s, &e), -1);
	assert_int_equal(e.count, 4);
	check_error(&e, 3, "body", "nul");
	field_errors_release(&e);
	json_object_put(o);
}

static void test_absent(void **state)
{
	(void)state;
	struct field_errors e;
	struct json_object *o = parse("{\"other\":1}");
	const char *s = "unchanged";
	int64_t i = 77;
	int b = 5;
	int64_t c = 88;

	field_errors_init(&e);
	assert_int_equal(field_str(o, "name", 0, 10, FIELD_OPTIONAL, &s, &e), 0);
	assert_int_equal(field_int64(o, "n", 0, 10, FIELD_OPTIONAL, &i, &e), 0);
	assert_int_equal(field_bool(o, "b", FIELD_OPTIONAL, &b, &e), 0);
	assert_int_equal(field_money(o, "m", 100, FIELD_OPTIONAL, &c, &e), 0);
	assert_int_equal(e.count, 0);
	field_errors_release(&e);

	field_errors_init(&e);
	check_absent_required(field_str(o, "name", 0, 10, FIELD_REQUIRED, &s, &e), &e, "name");
	field_errors_release(&e);
	field_errors_init(&e);
	check_absent_required(field_int64(o, "n", 0, 10, FIELD_REQUIRED, &i, &e), &e, "n");
	field_errors_release(&e);
	field_errors_init(&e);
	check_absent_required(field_bool(o, "b", FIELD_REQUIRED, &b, &e), &e, "b");
	field_errors_release(&e);
	field_errors_init(&e);
	check_absent_required(field_money(o, "m", 100, FIELD_REQUIRED, &c, &e), &e, "m");
	field_errors_release(&e);
	json_object_put(o);
}

static void test_errors_accumulate(void **state)
{
	(void)state;
	struct field_errors e;
	struct json_object *o = parse("{\"a\":\"x\",\"b\":\"y\"}");
	int64_t i;
	const char *s;
	field_errors_init(&e);
	(void)field_int64(o, "a", 0, 10, FIELD_REQUIRED, &i, &e);
	(void)field_int64(o, "b", 0, 10, FIELD_REQUIRED, &i, &e);
	(void)field_str(o, "c", 0, 10, FIELD_REQUIRED, &s, &e);
	assert_int_equal(e.count, 3);
	check_error(&e, 0, "body", "a");
	check_error(&e, 1, "body", "b");
	check_error(&e, 2, "body", "c");
	field_errors_release(&e);
	json_object_put(o);
}

static void test_int64(void **state)
{
	(void)state;
	struct field_errors e;
	struct json_object *o =
	        parse("{\"n\":42,\"neg\":-3,\"max\":9223372036854775807,\"f\":1.5,"
	              "\"s\":\"42x\",\"t\":true,\"big\":1e30,\"nul\":null,\"arr\":[1]}");
	int64_t v = 0;
	field_errors_init(&e);
	assert_int_equal(field_int64(o, "n", 1, 100, FIELD_REQUIRED, &v, &e), 1);
	assert_int_equal(v, 42);
	assert_int_equal(field_int64(o, "n", 42, 42, FIELD_REQUIRED, &v, &e), 1);
	assert_int_equal(field_int64(o, "neg", -10, 0, FIELD_REQUIRED, &v, &e), 1);
	assert_int_equal(v, -3);
	assert_int_equal(field_int64(o, "max", 1, INT64_MAX, FIELD_REQUIRED, &v, &e), 1);
	assert_true(v == INT64_MAX);
	assert_int_equal(e.count, 0);

	v = 5;
	assert_int_equal(field_int64(o, "n", 43, 100, FIELD_REQUIRED, &v, &e), -1);
	assert_int_equal(field_int64(o, "n", 1, 41, FIELD_REQUIRED, &v, &e), -1);
	assert_int_equal(field_int64(o, "neg", 1, INT64_MAX, FIELD_REQUIRED, &v, &e), -1);
	assert_int_equal(e.count, 3);
	check_error(&e, 0, "body", "n");
	check_error(&e, 2, "body", "neg");
	field_errors_release(&e);

	const char *wrong[] = {"f", "s", "t", "big", "arr"};
	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
		field_errors_init(&e);
		if (field_int64(o, wrong[i], INT64_MIN, INT64_MAX, FIELD_OPTIONAL, &v, &e) != -1)
			fail_msg("field_int64 accepted '%s'", wrong[i]);
		assert_int_equal(e.count, 1);
		check_error(&e, 0, "body", wrong[i]);
		field_errors_release(&e);
	}
	json_object_put(o);
}

static void test_int64_overflow_text(void **state)
{
	(void)state;
	struct field_errors e;
	/* one more than INT64_MAX: json-c may saturate it; never accept it as MAX */
	struct json_object *o = parse("{\"n\":9223372036854775808,\"m\":-9223372036854775809}");
	int64_t v = 0;
	field_errors_init(&e);
	assert_int_equal(field_int64(o, "n", 0, INT64_MAX - 1, FIELD_REQUIRED, &v, &e), -1);
	assert_int_equal(field_int64(o, "m", INT64_MIN + 1, 0, FIELD_REQUIRED, &v, &e), -1);
	assert_int_equal(e.count, 2);
	field_errors_release(&e);
	json_object_put(o);
}

static void test_bool(void **state)
{
	(void)state;
	struct field_errors e;
	struct json_object *o =
	        parse("{\"t\":true,\"f\":false,\"s\":\"true\",\"n\":2,\"a\":[],\"z\":null}");
	int v = -7;
	field_errors_init(&e);
	assert_int_equal(field_bool(o, "t", FIELD_REQUIRED, &v, &e), 1);
	assert_int_equal(v, 1);
	assert_int_equal(field_bool(o, "f", FIELD_REQUIRED, &v, &e), 1);
	assert_int_equal(v, 0);
	assert_int_equal(e.count, 0);
	assert_int_equal(field_bool(o, "s", FIELD_REQUIRED, &v, &e), -1);
	assert_int_equal(field_bool(o, "n", FIELD_REQUIRED, &v, &e), -1);
	assert_int_equal(field_bool(o, "a", FIELD_REQUIRED, &v, &e), -1);
	assert_int_equal(e.count, 3);
	check_error(&e, 0, "body", "s");
	check_error(&e, 1, "body", "n");
	check_error(&e, 2, "body", "a");
	field_errors_release(&e);
	json_object_put(o);
}

static int64_t money_ok(const char *json_number, int64_t max)
{
	char text[128];
	snprintf(text, sizeof(text), "{\"m\":%s}", json_number);
	struct json_object *o = parse(text);
	struct field_errors e;
	field_errors_init(&e);
	int64_t c = -1;
	int rc = field_money(o, "m", max, FIELD_REQUIRED, &c, &e);
	if (rc != 1)
		fail_msg("field_money rejected %s", json_number);
	assert_int_equal(e.count, 0);
	field_errors_release(&e);
	json_object_put(o);
	return c;
}

static void money_bad(const char *json_value, int64_t max)
{
	char text[128];
	snprintf(text, sizeof(text), "{\"m\":%s}", json_value);
	struct json_object *o = parse(text);
	struct field_errors e;
	field_errors_init(&e);
	int64_t c = -1;
	if (field_money(o, "m", max, FIELD_REQUIRED, &c, &e) != -1)
		fail_msg("field_money accepted %s (max %lld)", json_value, (long long)max);
	assert_int_equal(e.count, 1);
	check_error(&e, 0, "body", "m");
	field_errors_release(&e);
	json_object_put(o);
}

static void test_money(void **state)
{
	(void)state;
	const int64_t big = INT64_C(100000000000);
	assert_int_equal(money_ok("299.99", big), 29999);
	assert_int_equal(money_ok("299", big), 29900);
	assert_int_equal(money_ok("0", big), 0);
	assert_int_equal(money_ok("0.0", big), 0);
	assert_int_equal(money_ok("5.5", big), 550);
	assert_int_equal(money_ok("5.50", big), 550);
	assert_int_equal(money_ok("0.01", big), 1);
	assert_int_equal(money_ok("0.1", big), 10);
	/* values that binary floating point does not hold exactly */
	assert_int_equal(money_ok("0.29", big), 29);
	assert_int_equal(money_ok("1.15", big), 115);
	assert_int_equal(money_ok("4.35", big), 435);
	assert_int_equal(money_ok("0.07", big), 7);
	assert_int_equal(money_ok("19.99", big), 1999);
	assert_int_equal(money_ok("1234567.89", big), 123456789);
	/* max is inclusive */
	assert_int_equal(money_ok("100.00", 10000), 10000);
}

static void test_money_rejected(void **state)
{
	(void)state;
	const int64_t big = INT64_C(100000000000);
	money_bad("1.005", big);
	money_bad("0.001", big);
	money_bad("299.999", big);
	money_bad("-1", big);
	money_bad("-0.01", big);
	money_bad("-299.99", big);
	money_bad("100.01", 10000);
	money_bad("101", 10000);
	money_bad("\"10.00\"", big);
	money_bad("true", big);
	money_bad("[1]", big);
	money_bad("1e300", big);
}

static void test_query_str(void **state)
{
	(void)state;
	struct field_errors e;
	char out[16];
	char small[4];
	field_errors_init(&e);
	const char *q = "origin=JFK&destination=LA%58&city=New+York&bad=%zz&long=abcdefghij"
	                "&u=caf%C3%A9&x=%FF&n=a%00b";
	assert_int_equal(field_query_str(q, "origin", 3, 3, out, sizeof(out), FIELD_REQUIRED, &e),
	                 1);
	assert_string_equal(out, "JFK");
	assert_int_equal(
	        field_query_str(q, "destination", 3, 3, out, sizeof(out), FIELD_REQUIRED, &e), 1);
	assert_string_equal(out, "LAX");
	assert_int_equal(field_query_str(q, "city", 1, 8, out, sizeof(out), FIELD_REQUIRED, &e), 1);
	assert_string_equal(out, "New York");
	assert_int_equal(field_query_str(q, "u", 5, 5, out, sizeof(out), FIELD_REQUIRED, &e), 1);
	assert_string_equal(out, "caf\xc3\xa9");
	assert_int_equal(field_query_str(q, "nope", 1, 7, out, sizeof(out), FIELD_OPTIONAL, &e), 0);
	assert_int_equal(e.count, 0);

	assert_int_equal(field_query_str(q, "origin", 4, 7, out, sizeof(out), FIELD_REQUIRED, &e),
	                 -1);
	assert_int_equal(field_query_str(q, "origin", 1, 2, out, sizeof(out), FIELD_REQUIRED, &e),
	                 -1);
	assert_int_equal(field_query_str(q, "bad", 0, 7, out, sizeof(out), FIELD_REQUIRED, &e), -1);
	/* longer than max */
	assert_int_equal(field_query_str(q, "long", 0, 7, out, sizeof(out), FIELD_REQUIRED, &e),
	                 -1);
	/* longer than the caller's buffer */
	assert_int_equal(
	        field_query_str(q, "long", 0, 100, small, sizeof(small), FIELD_REQUIRED, &e), -1);
	/* not UTF-8, embedded NUL */
	assert_int_equal(field_query_str(q, "x", 0, 7, out, sizeof(out), FIELD_REQUIRED, &e), -1);
	assert_int_equal(field_query_str(q, "n", 0, 7, out, sizeof(out), FIELD_REQUIRED, &e), -1);
	assert_int_equal(e.count, 7);
	check_error(&e, 0, "query", "origin");
	check_error(&e, 2, "query", "bad");
	check_error(&e, 3, "query", "long");
	check_error(&e, 4, "query", "long");
	check_error(&e, 5, "query", "x");
	check_error(&e, 6, "query", "n");
	int rc = field_query_str(q, "nope", 1, 7, out, sizeof(out), FIELD_REQUIRED, &e);
	assert_true(rc == 0 || rc == -1);
	assert_int_equal(e.count, 8);
	check_error(&e, 7, "query", "nope");
	field_errors_release(&e);

	/* an empty query string */
	field_errors_init(&e);
	assert_int_equal(field_query_str("", "origin", 3, 3, out, sizeof(out), FIELD_OPTIONAL, &e),
	                 0);
	assert_int_equal(e.count, 0);
	field_errors_release(&e);
}

static void test_query_int64(void **state)
{
	(void)state;
	struct field_errors e;
	int64_t v = 0;
	field_errors_init(&e);
	const char *q = "a=10&b=abc&c=-4&d=12x&e=99999999999999999999&f=0x10";
	assert_int_equal(field_query_int64(q, "a", 1, 100, FIELD_REQUIRED, &v, &e), 1);
	assert_int_equal(v, 10);
	assert_int_equal(field_query_int64(q, "c", -10, 10, FIELD_REQUIRED, &v, &e), 1);
	assert_int_equal(v, -4);
	assert_int_equal(field_query_int64(q, "z", 1, 100, FIELD_OPTIONAL, &v, &e), 0);
	assert_int_equal(e.count, 0);
	assert_int_equal(field_query_int64(q, "a", 11, 100, FIELD_REQUIRED, &v, &e), -1);
	assert_int_equal(field_query_int64(q, "b", 1, 100, FIELD_REQUIRED, &v, &e), -1);
	assert_int_equal(field_query_int64(q, "c", 0, 100, FIELD_REQUIRED, &v, &e), -1);
	assert_int_equal(field_query_int64(q, "d", 1, 100, FIELD_REQUIRED, &v, &e), -1);
	assert_int_equal(field_query_int64(q, "e", 1, INT64_MAX, FIELD_REQUIRED, &v, &e), -1);
	assert_int_equal(field_query_int64(q, "f", 0, 100, FIELD_REQUIRED, &v, &e), -1);
	assert_int_equal(e.count, 6);
	for (int i = 0; i < 6; i++)
		check_error(&e, i, "query", (const char *[]){"a", "b", "c", "d", "e", "f"}[i]);
	field_errors_release(&e);
}

static void paging_ok(const char *q, int64_t limit, int64_t offset)
{
	struct field_errors e;
	int64_t l = -1, o = -1;
	field_errors_init(&e);
	int rc = field_query_paging(q, &l, &o, &e);
	if (rc < 0 || e.count != 0)
		fail_msg("paging rejected '%s'", q);
	if (l != limit || o != offset)
		fail_msg("paging '%s': limit %lld offset %lld", q, (long long)l, (long long)o);
	field_errors_release(&e);
}

static void paging_bad(const char *q, const char *name)
{
	struct field_errors e;
	int64_t l = -1, o = -1;
	field_errors_init(&e);
	int rc = field_query_paging(q, &l, &o, &e);
	if (rc != -1 || e.count < 1)
		fail_msg("paging accepted '%s'", q);
	check_error(&e, 0, "query", name);
	field_errors_release(&e);
}

static void test_paging(void **state)
{
	(void)state;
	paging_ok("", 50, 0);
	paging_ok("origin=JFK", 50, 0);
	paging_ok("limit=1", 1, 0);
	paging_ok("limit=200", 200, 0);
	paging_ok("offset=10", 50, 10);
	paging_ok("skip=5", 50, 5);
	paging_ok("limit=20&offset=40", 20, 40);
	paging_ok("skip=3&limit=7", 7, 3);
	paging_ok("offset=0", 50, 0);

	paging_bad("limit=0", "limit");
	paging_bad("limit=201", "limit");
	paging_bad("limit=-1", "limit");
	paging_bad("limit=abc", "limit");
	paging_bad("offset=-1", "offset");
	paging_bad("offset=x", "offset");
}

static void test_paging_skip_alias_error(void **state)
{
	(void)state;
	struct field_errors e;
	int64_t l, o;
	field_errors_init(&e);
	assert_int_equal(field_query_paging("skip=-2", &l, &o, &e), -1);
	assert_true(e.count >= 1);
	field_errors_release(&e);
}

/* RFC 3629 exactly: what json-c and PostgreSQL disagree on is refused. */
static void test_utf8_valid(void **state)
{
	(void)state;
	const char *good[] = {"",
	                      "plain",
	                      "caf\xc3\xa9",
	                      "\xe2\x82\xac",
	                      "\xf0\x9f\x98\x80",
	                      "\xef\xbf\xbd",
	                      "\xf4\x8f\xbf\xbf",
	                      "\xed\x9f\xbf"};
	const char *bad[] = {"\xff",
	                     "\xc0\xaf",
	                     "\xc1\xbf",
	                     "\xe0\x80\xaf",
	                     "\xed\xa0\x80",
	                     "\xed\xbf\xbf",
	                     "\xf4\x90\x80\x80",
	                     "\xf8\x88\x80\x80\x80",
	                     "\xc3",
	                     "a\xe2\x82",
	                     "\x80",
	                     "\xc3\x28"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!field_utf8_valid(good[i], strlen(good[i])))
			fail_msg("refused good[%zu]", i);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (field_utf8_valid(bad[i], strlen(bad[i])))
			fail_msg("took bad[%zu]", i);
}

static void test_parse_int64(void **state)
{
	(void)state;
	int64_t v = 0;
	assert_int_equal(field_parse_int64("42", 0, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(field_parse_int64("-5", -10, 10, &v), 0);
	assert_int_equal(v, -5);
	assert_int_equal(field_parse_int64("0", 0, 0, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(field_parse_int64("9223372036854775807", 0, INT64_MAX, &v), 0);
	assert_true(v == INT64_MAX);
	assert_int_equal(field_parse_int64("-9223372036854775808", INT64_MIN, 0, &v), 0);
	assert_true(v == INT64_MIN);

	const char *bad[] = {"",
	                     "abc",
	                     "12abc",
	                     "1 ",
	                     " 1",
	                     "0x10",
	                     "1.0",
	                     "--1",
	                     "1e3",
	                     "9223372036854775808",
	                     "-9223372036854775809",
	                     "\t7"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (field_parse_int64(bad[i], INT64_MIN, INT64_MAX, &v) != -1)
			fail_msg("field_parse_int64 accepted '%s'", bad[i]);
	assert_int_equal(field_parse_int64("101", 0, 100, &v), -1);
	assert_int_equal(field_parse_int64("-1", 0, 100, &v), -1);
}

/* Exact cents of a decimal text, or -1 when it is not "d+(.d{1,2})?". */
static int64_t text_cents(const char *t)
{
	int64_t units = 0;
	const char *p = t;
	if (*p < '0' || *p > '9')
		return -1;
	while (*p >= '0' && *p <= '9')
		units = units * 10 + (*p++ - '0');
	int64_t frac = 0;
	if (*p == '.') {
		p++;
		int n = 0;
		while (*p >= '0' && *p <= '9' && n < 2) {
			frac = frac * 10 + (*p++ - '0');
			n++;
		}
		if (n == 0)
			return -1;
		if (n == 1)
			frac *= 10;
	}
	return *p ? -1 : units * 100 + frac;
}

static void test_format_money(void **state)
{
	(void)state;
	char out[24];
	field_format_money(29999, out, sizeof(out));
	assert_string_equal(out, "299.99");
	field_format_money(500, out, sizeof(out));
	assert_string_equal(out, "5.00");
	field_format_money(0, out, sizeof(out));
	assert_string_equal(out, "0.00");
	field_format_money(7, out, sizeof(out));
	assert_string_equal(out, "0.07");
	field_format_money(550, out, sizeof(out));
	assert_string_equal(out, "5.50");
	const int64_t cases[] = {1, 10, 99, 100, 101, 550, 1999, 123456789, INT64_MAX};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(out, 'x', sizeof(out));
		field_format_money(cases[i], out, sizeof(out));
		assert_non_null(memchr(out, '\0', sizeof(out)));
		if (text_cents(out) != cases[i])
			fail_msg("%lld cents formatted as '%s'", (long long)cases[i], out);
		/* a valid JSON number */
		struct json_object *o = json_tokener_parse(out);
		assert_non_null(o);
		json_object_put(o);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_errors_init_add),
	        cmocka_unit_test(test_str),
	        cmocka_unit_test(test_str_bad_utf8),
	        cmocka_unit_test(test_absent),
	        cmocka_unit_test(test_errors_accumulate),
	        cmocka_unit_test(test_int64),
	        cmocka_unit_test(test_int64_overflow_text),
	        cmocka_unit_test(test_bool),
	        cmocka_unit_test(test_money),
	        cmocka_unit_test(test_money_rejected),
	        cmocka_unit_test(test_query_str),
	        cmocka_unit_test(test_query_int64),
	        cmocka_unit_test(test_paging),
	        cmocka_unit_test(test_paging_skip_alias_error),
	        cmocka_unit_test(test_utf8_valid),
	        cmocka_unit_test(test_parse_int64),
	        cmocka_unit_test(test_format_money),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
