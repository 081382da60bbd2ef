/* test_reply.c - reply.h: status, body and type of each reply kind, the
 * last call wins, headers (CR/LF injection dropped), reason phrases. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "field.h"
#include "harness.h"
#include "reply.h"
#include "req.h"
#include "worker.h"

static struct worker w0;
static FILE *log_file;

static int setup(void **state)
{
	(void)state;
	log_file = harness_log_quiet(LOG_LVL_DEBUG);
	return 0;
}

static long log_size(void)
{
	fflush(log_file);
	fseek(log_file, 0, SEEK_END);
	return ftell(log_file);
}

static struct json_object *body_json(struct req *r)
{
	struct json_object *o = json_tokener_parse(buf_str(&r->out));
	if (o == NULL && strcmp(buf_str(&r->out), "null") != 0)
		fail_msg("reply body is not JSON: %s", buf_str(&r->out));
	return o;
}

static void check_json_type(struct req *r)
{
	assert_non_null(r->out_type);
	assert_non_null(strstr(r->out_type, "application/json"));
}

static void test_error(void **state)
{
	(void)state;
	struct req r;
	req_init(&r, &w0);
	reply_error(&r, 404, "User not found");
	assert_int_equal(r.status, 404);
	check_json_type(&r);
	struct json_object *o = body_json(&r);
	assert_int_equal(json_object_object_length(o), 1);
	struct json_object *d;
	assert_true(json_object_object_get_ex(o, "detail", &d));
	assert_string_equal(json_object_get_string(d), "User not found");
	json_object_put(o);
	req_release(&r);
}

static void test_error_escaped(void **state)
{
	(void)state;
	struct req r;
	req_init(&r, &w0);
	const char *nasty = "say \"hi\"\n\\ </script> caf\xc3\xa9";
	reply_error(&r, 400, nasty);
	struct json_object *o = body_json(&r);
	struct json_object *d;
	assert_true(json_object_object_get_ex(o, "detail", &d));
	assert_string_equal(json_object_get_string(d), nasty);
	json_object_put(o);
	req_release(&r);
}

static void test_json(void **state)
{
	(void)state;
	struct req r;
	req_init(&r, &w0);
	struct json_object *obj = json_object_new_object();
	json_object_object_add(obj, "id", json_object_new_int64(7));
	json_object_object_add(obj, "url", json_object_new_string("/a/b"));
	reply_json(&r, 201, obj); /* takes ownership */
	assert_int_equal(r.status, 201);
	check_json_type(&r);
	struct json_object *o = body_json(&r);
	struct json_object *v;
	assert_true(json_object_object_get_ex(o, "id", &v));
	assert_int_equal(json_object_get_int64(v), 7);
	assert_true(json_object_object_get_ex(o, "url", &v));
	assert_string_equal(json_object_get_string(v), "/a/b");
	json_object_put(o);
	req_release(&r);

	req_init(&r, &w0);
	reply_json(&r, 200, NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(buf_str(&r.out), "null");
	req_release(&r);

	req_init(&r, &w0);
	reply_json(&r, 200, json_object_new_array());
	assert_string_equal(buf_str(&r.out), "[]");
	req_release(&r);
}

static void test_last_call_wins(void **state)
{
	(void)state;
	struct req r;
	req_init(&r, &w0);
	reply_error(&r, 500, "first");
	struct json_object *obj = json_object_new_object();
	json_object_object_add(obj, "ok", json_object_new_boolean(1));
	reply_json(&r, 200, obj);
	assert_int_equal(r.status, 200);
	struct json_object *o = body_json(&r); /* replaced, not appended */
	assert_true(json_object_object_get_ex(o, "ok", NULL));
	assert_false(json_object_object_get_ex(o, "detail", NULL));
	json_object_put(o);

	reply_empty(&r, 204);
	assert_int_equal(r.status, 204);
	assert_int_equal(r.out.len, 0);

	reply_raw(&r, 200, "text/plain", "hi", 2);
	reply_error(&r, 409, "conflict");
	assert_int_equal(r.status, 409);
	check_json_type(&r);
	o = body_json(&r);
	assert_true(json_object_object_get_ex(o, "detail", NULL));
	json_object_put(o);
	req_release(&r);
}

static void test_invalid(void **state)
{
	(void)state;
	struct req r;
	req_init(&r, &w0);
	struct field_errors e;
	field_errors_init(&e);
	field_error_add(&e, "body", "email", "value is not a valid email address", "value_error");
	field_error_add(&e, "body", "password", "too short", "string_too_short");
	reply_invalid(&r, &e); /* releases e */
	assert_int_equal(r.status, 422);
	check_json_type(&r);
	struct json_object *o = body_json(&r);
	struct json_object *d;
	assert_true(json_object_object_get_ex(o, "detail", &d));
	assert_true(json_object_is_type(d, json_type_array));
	assert_int_equal(json_object_array_length(d), 2);
	struct json_object *e0 = json_object_array_get_idx(d, 0);
	struct json_object *loc;
	assert_true(json_object_object_get_ex(e0, "loc", &loc));
	assert_string_equal(json_object_get_string(json_object_array_get_idx(loc, 0)), "body");
	assert_string_equal(json_object_get_string(json_object_array_get_idx(loc, 1)), "email");
	assert_true(json_object_object_get_ex(e0, "msg", NULL));
	assert_true(json_object_object_get_ex(e0, "type", NULL));
	json_object_put(o);
	req_release(&r);
}

static void test_empty(void **state)
{
	(void)state;
	struct req r;
	req_init(&r, &w0);
	reply_empty(&r, 204);
	assert_int_equal(r.status, 204);
	assert_int_equal(r.out.len, 0);
	assert_string_equal(buf_str(&r.out), "");
	req_release(&r);
}

static void test_raw_copies(void **state)
{
	(void)state;
	struct req r;
	req_init(&r, &w0);
	char body[] = "# TYPE x counter\nx 1\n";
	reply_raw(&r, 200, "text/plain; version=0.0.4", body, strlen(body));
	body[0] = 'Z';
	assert_int_equal(r.status, 200);
	assert_string_equal(r.out_type, "text/plain; version=0.0.4");
	assert_string_equal(buf_str(&r.out), "# TYPE x counter\nx 1\n");
	/* binary-safe */
	reply_raw(&r, 200, "application/octet-stream", "a\0b", 3);
	assert_int_equal(r.out.len, 3);
	assert_memory_equal(r.out.data, "a\0b", 3);
	req_release(&r);
}

static void test_header(void **state)
{
	(void)state;
	struct req r;
	req_init(&r, &w0);
	reply_header(&r, "X-Total-Count", "5");
	reply_header(&r, "Retry-After", "300");
	const char *h = buf_str(&r.headers);
	assert_non_null(strstr(h, "X-Total-Count: 5\r\n"));
	assert_non_null(strstr(h, "Retry-After: 300\r\n"));
	/* a reply after the headers keeps them */
	reply_error(&r, 429, "Too many login attempts");
	assert_non_null(strstr(buf_str(&r.headers), "Retry-After: 300\r\n"));
	req_release(&r);
}

static void test_header_injection(void **state)
{
	(void)state;
	struct req r;
	req_init(&r, &w0);
	reply_header(&r, "X-Ok", "1");
	size_t before = r.headers.len;
	long logged = log_size();
	reply_header(&r, "X-Evil", "a\r\nSet-Cookie: session=x");
	reply_header(&r, "X-Evil", "a\nSet-Cookie: session=x");
	reply_header(&r, "X-Evil", "a\rb");
	reply_header(&r, "X-Evil\r\nSet-Cookie", "x");
	reply_header(&r, "X-Evil\n", "x");
	assert_int_equal(r.headers.len, before);
	assert_null(strstr(buf_str(&r.headers), "Set-Cookie"));
	assert_null(strstr(buf_str(&r.headers), "X-Evil"));
	/* and it was logged */
	assert_true(log_size() > logged);
	req_release(&r);
}

static void test_reason(void **state)
{
	(void)state;
	assert_string_equal(reply_reason(200), "OK");
	assert_string_equal(reply_reason(201), "Created");
	assert_string_equal(reply_reason(202), "Accepted");
	assert_string_equal(reply_reason(204), "No Content");
	assert_string_equal(reply_reason(400), "Bad Request");
	assert_string_equal(reply_reason(401), "Unauthorized");
	assert_string_equal(reply_reason(403), "Forbidden");
	assert_string_equal(reply_reason(404), "Not Found");
	assert_string_equal(reply_reason(405), "Method Not Allowed");
	assert_string_equal(reply_reason(409), "Conflict");
	assert_string_equal(reply_reason(422), "Unprocessable Entity");
	assert_string_equal(reply_reason(429), "Too Many Requests");
	assert_string_equal(reply_reason(500), "Internal Server Error");
	assert_string_equal(reply_reason(502), "Bad Gateway");
	assert_string_equal(reply_reason(503), "Service Unavailable");
	const char *r413 = reply_reason(413);
	assert_true(strcmp(r413, "Content Too Large") == 0 ||
	            strcmp(r413, "Payload Too Large") == 0);
	/* unknown codes still give a printable phrase */
	const int odd[] = {0, 99, 299, 418, 599, 1000, -1};
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		const char *s = reply_reason(odd[i]);
		assert_non_null(s);
		assert_null(strpbrk(s, "\r\n"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_error),
	        cmocka_unit_test(test_error_escaped),
	        cmocka_unit_test(test_json),
	        cmocka_unit_test(test_last_call_wins),
	        cmocka_unit_test(test_invalid),
	        cmocka_unit_test(test_empty),
	        cmocka_unit_test(test_raw_copies),
	        cmocka_unit_test(test_header),
	        cmocka_unit_test(test_header_injection),
	        cmocka_unit_test(test_reason),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
