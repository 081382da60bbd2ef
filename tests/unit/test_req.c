/* test_req.c - req.h on a request built by hand: req_json (400 on
 * malformed JSON and on what json-c takes but RFC 8259 does not, duplicate
 * members included; 422 on a non-object, parsed once), req_param_id (404 on
 * anything but a positive int64), req_is_form, req_is_privileged. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "harness.h"
#include "mem.h"
#include "req.h"
#include "worker.h"

static struct worker w0;

static void req_with_body(struct req *r, const char *body, size_t len)
{
	req_init(r, &w0);
	r->method = "POST";
	r->path = "/x";
	r->content_type = "application/json";
	if (body) {
		r->body = xmalloc(len + 1);
		memcpy(r->body, body, len);
		r->body[len] = '\0';
		r->body_len = len;
	}
}

/* The reply body parses as {"detail": ...}; returns the detail's type. */
static enum json_type reply_detail_type(struct req *r)
{
	struct json_object *o = json_tokener_parse(buf_str(&r->out));
	assert_non_null(o);
	struct json_object *d = NULL;
	assert_true(json_object_object_get_ex(o, "detail", &d));
	enum json_type t = json_object_get_type(d);
	json_object_put(o);
	return t;
}

static void test_json_object(void **state)
{
	(void)state;
	struct req r;
	const char *b = "{\"a\": 1, \"s\": \"x\"}";
	req_with_body(&r, b, strlen(b));
	struct json_object *o = req_json_or_reply(&r);
	assert_non_null(o);
	assert_true(json_object_is_type(o, json_type_object));
	assert_int_equal(r.status, 0);
	/* parsed once, owned by r */
	assert_ptr_equal(req_json_or_reply(&r), o);
	assert_ptr_equal(r.json, o);
	req_release(&r);
}

static void test_json_whitespace_ok(void **state)
{
	(void)state;
	struct req r;
	const char *b = " \r\n\t{\"a\":[1,2,{}]}\n";
	req_with_body(&r, b, strlen(b));
	assert_non_null(req_json_or_reply(&r));
	assert_int_equal(r.status, 0);
	req_release(&r);
}

static void expect_status(const char *body, size_t len, int status)
{
	struct req r;
	req_with_body(&r, body, len);
	if (req_json_or_reply(&r) != NULL)
		fail_msg("req_json accepted '%s'", body ? body : "(null)");
	if (r.status != status)
		fail_msg("body '%s': status %d, want %d", body ? body : "(null)", r.status, status);
	assert_int_equal(reply_detail_type(&r), status == 400 ? json_type_string : json_type_array);
	req_release(&r);
}

static void test_json_malformed(void **state)
{
	(void)state;
	const char *bad[] = {"{",          "{bad",           "{\"a\":}",       "{\"a\":1,}",
	                     "{} x",       "{}{}",           "{\"a\":1} ]",    "nul",
	                     "{\"a\":01}", "\"unterminated", "{\"a\":\"\\x\"}"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_status(bad[i], strlen(bad[i]), 400);
}

/* What json-c 0.16 takes even in strict mode and req_json refuses:
 * RFC 8259 does not allow it, and a duplicate member is read as the last
 * one by json-c but as the first by other readers. */
static void test_json_lax_forms(void **state)
{
	(void)state;
	const char *bad[] = {
	        "{'a':1}",
	        "{\"a\":'x'}",
	        "{\"a\":NaN}",
	        "{\"a\":Infinity}",
	        "{\"a\":-Infinity}",
	        "{\"a\":\"x\ny\"}",
	        "{\"a\":\"x\ty\"}",
	        "{\"a\":\"\xc0\xaf\"}",
	        "{\"a\":\"\xed\xa0\x80\"}",
	        "{\"a\":\"\xf4\x90\x80\x80\"}",
	        "{\"\xff\":1}",
	        "{\"a\":\"\\ud800\"}",
	        "{\"a\":\"\\udfff\"}",
	        "{\"a\":\"\\ud800\\u0041\"}",
	        "{\"a\":\"\\ud800x\"}",
	        "{\"a\":1,\"a\":2}",
	        "{\"a\":1,\"b\":2,\"a\":\"x\"}",
	        "{\"a\":\"x\",\"\\u0061\":\"y\"}",
	        "{\"o\":{\"k\":1,\"k\":1}}",
	        "{\"l\":[{\"k\":1},{\"k\":1,\"k\":2}]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_status(bad[i], strlen(bad[i]), 400);
}

/* The strict pass keeps what is plain JSON. */
static void test_json_strict_keeps_plain_json(void **state)
{
	(void)state;
	const char *good[] = {
	        "{\"a:b\":\"c:d\",\"q\":\"it's \\\"quoted\\\"\"}",
	        "{\"a\":{\"a\":1},\"b\":{\"a\":2},\"l\":[{\"a\":1},{\"a\":2}]}",
	        "{\"e\":1E5,\"f\":-2.5e-3,\"t\":true,\"n\":null}",
	        "{\"s\":\"\\ud83d\\ude00 caf\xc3\xa9 \xf0\x9f\x98\x80\"}",
	        "{\"s\":\"\\u0041\\n\\t\\\\\"}",
	        "{}",
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct req r;
		req_with_body(&r, good[i], strlen(good[i]));
		if (req_json_or_reply(&r) == NULL)
			fail_msg("req_json refused '%s': %s", good[i], buf_str(&r.out));
		req_release(&r);
	}
}

static void test_json_embedded_nul(void **state)
{
	(void)state;
	/* the parser must see body_len bytes, not stop at the NUL */
	expect_status("{}\0{", 4, 400);
}

static void test_json_not_object(void **state)
{
	(void)state;
	const char *nonobj[] = {"[1,2]", "[]", "null", "42", "\"str\"", "true"};
	for (size_t i = 0; i < sizeof(nonobj) / sizeof(nonobj[0]); i++)
		expect_status(nonobj[i], strlen(nonobj[i]), 422);
}

static void test_json_empty_body(void **state)
{
	(void)state;
	struct req r;
	req_with_body(&r, NULL, 0);
	assert_null(req_json_or_reply(&r));
	assert_true(r.status == 400 || r.status == 422);
	req_release(&r);
	req_with_body(&r, "", 0);
	assert_null(req_json_or_reply(&r));
	assert_true(r.status == 400 || r.status == 422);
	req_release(&r);
}

static void test_json_deep_nesting(void **state)
{
	(void)state;
	/* very deep nesting is refused, not a crash */
	size_t n = 100000;
	char *b = xmalloc(2 * n + 10);
	size_t k = 0;
	b[k++] = '{';
	memcpy(b + k, "\"a\":", 4);
	k += 4;
	for (size_t i = 0; i < n; i++)
		b[k++] = '[';
	for (size_t i = 0; i < n; i++)
		b[k++] = ']';
	b[k++] = '}';
	struct req r;
	req_with_body(&r, b, k);
	assert_null(req_json_or_reply(&r));
	assert_int_equal(r.status, 400);
	req_release(&r);
	free(b);
}

static void set_param(struct req *r, const char *name, const char *value)
{
	int i = r->match.nparams++;
	snprintf(r->match.params[i].name, sizeof(r->match.params[i].name), "%s", name);
	snprintf(r->match.params[i].value, sizeof(r->match.params[i].value), "%s", value);
}

/* A request without a body whose route captured name = value. */
static void req_with_param(struct req *r, const char *name, const char *value)
{
	req_with_body(r, NULL, 0);
	set_param(r, name, value);
}

static void test_param_id(void **state)
{
	(void)state;
	struct req r;
	int64_t id = 0;
	req_with_param(&r, "id", "42");
	set_param(&r, "max", "9223372036854775807");
	assert_int_equal(req_param_id_or_reply(&r, "id", NULL, &id), 0);
	assert_int_equal(id, 42);
	assert_int_equal(req_param_id_or_reply(&r, "max", NULL, &id), 0);
	assert_true(id == INT64_MAX);
	assert_int_equal(r.status, 0);
	req_release(&r);
}

static void test_param_id_bad(void **state)
{
	(void)state;
	const char *bad[] = {"abc", "0",   "-1", "9223372036854775808",    "", "1.5",
	                     "12a", "0x1", " 1", "99999999999999999999999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct req r;
		int64_t id = 0;
		req_with_param(&r, "id", bad[i]);
		if (req_param_id_or_reply(&r, "id", NULL, &id) != -1)
			fail_msg("req_param_id accepted '%s'", bad[i]);
		assert_int_equal(r.status, 404);
		assert_int_equal(reply_detail_type(&r), json_type_string);
		req_release(&r);
	}
}

static void test_param_id_missing(void **state)
{
	(void)state;
	struct req r;
	int64_t id = 0;
	req_with_param(&r, "other", "5");
	assert_int_equal(req_param_id_or_reply(&r, "id", NULL, &id), -1);
	assert_int_equal(r.status, 404);
	req_release(&r);
}

/* req_is_form of a request with the Content-Type ct. */
static int is_form(const char *ct)
{
	struct req r;
	req_with_body(&r, NULL, 0);
	r.content_type = ct;
	int form = req_is_form(&r);
	req_release(&r);
	return form;
}

static void test_is_form(void **state)
{
	(void)state;
	HARNESS_RULE(is_form, 1, "application/x-www-form-urlencoded",
	             "application/x-www-form-urlencoded; charset=UTF-8",
	             "Application/X-WWW-Form-Urlencoded");
	HARNESS_RULE(is_form, 0, "application/json", "", "multipart/form-data; boundary=x");
}

static void test_is_privileged(void **state)
{
	(void)state;
	struct req r;
	req_with_body(&r, NULL, 0);
	r.caller = CALLER_NONE;
	assert_int_equal(req_is_privileged(&r), 0);
	r.caller = CALLER_SERVICE;
	assert_int_equal(req_is_privileged(&r), 1);
	r.caller = CALLER_USER;
	r.user.admin = 0;
	assert_int_equal(req_is_privileged(&r), 0);
	r.user.admin = 1;
	assert_int_equal(req_is_privileged(&r), 1);
	/* stale claims without a user caller grant nothing */
	r.caller = CALLER_NONE;
	assert_int_equal(req_is_privileged(&r), 0);
	req_release(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_json_object),
	        cmocka_unit_test(test_json_whitespace_ok),
	        cmocka_unit_test(test_json_malformed),
	        cmocka_unit_test(test_json_lax_forms),
	        cmocka_unit_test(test_json_strict_keeps_plain_json),
	        cmocka_unit_test(test_json_embedded_nul),
	        cmocka_unit_test(test_json_not_object),
	        cmocka_unit_test(test_json_empty_body),
	        cmocka_unit_test(test_json_deep_nesting),
	        cmocka_unit_test(test_param_id),
	        cmocka_unit_test(test_param_id_bad),
	        cmocka_unit_test(test_param_id_missing),
	        cmocka_unit_test(test_is_form),
	        cmocka_unit_test(test_is_privileged),
	};
	return cmocka_run_group_tests(tests, harness_quiet, NULL);
}
