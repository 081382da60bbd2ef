/* test_http.c - http.h against the peer stub of tests/harness: status
 * and body of any answer (5xx included), the headers a call sends, a
 * bounded wait for a peer that never answers or is not there, and
 * http_response_json. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "harness.h"
#include "http.h"
#include "stub.h"

#define KEY "fedcba9876543210fedcba9876543210K"

static const struct stub_route routes[] = {
        {"GET", "/ok", 200, "{\"a\": 1}", 0}, {"POST", "/echo*", 201, "{\"made\": true}", 0},
        {"DELETE", "/items/*", 204, NULL, 0}, {"GET", "/down", 503, "{\"detail\": \"down\"}", 0},
        {"GET", "/slow", 200, "{}", 1000},    {NULL, NULL, 0, NULL, 0},
};

static char base[64];

static int setup(void **state)
{
	(void)state;
	harness_log_quiet(LOG_LVL_ERROR);
	snprintf(base, sizeof(base), "http://127.0.0.1:%d", stub_start(routes));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	stub_stop();
	return 0;
}

/* http_call of method on the stub's path. */
static int call(const char *method, const char *path, const char *key, const char *request_id,
                const char *json, int timeout_ms, struct http_response *resp)
{
	char url[128];

	snprintf(url, sizeof(url), "%s%s", base, path);
	return http_call(method, url, key, request_id, json, timeout_ms, resp);
}

static long elapsed_ms(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - since->tv_sec) * 1000 + (now.tv_nsec - since->tv_nsec) / 1000000;
}

static void test_ok_with_body(void **state)
{
	(void)state;
	struct http_response resp;

	assert_int_equal(call("GET", "/ok", KEY, "rid-1", NULL, 1000, &resp), 0);
	assert_int_equal(resp.status, 200);
	assert_string_equal(buf_str(&resp.body), "{\"a\": 1}");
	assert_string_equal(stub_last_path(), "/ok");
	http_response_release(&resp);
	assert_int_equal(resp.status, 0);
}

static void test_5xx_is_an_answer(void **state)
{
	(void)state;
	struct http_response resp;

	assert_int_equal(call("GET", "/down", KEY, NULL, NULL, 1000, &resp), 0);
	assert_int_equal(resp.status, 503);
	assert_string_equal(buf_str(&resp.body), "{\"detail\": \"down\"}");
	http_response_release(&resp);
	/* so is a 404 (no such route on the stub) */
	assert_int_equal(call("GET", "/nope", KEY, NULL, NULL, 1000, &resp), 0);
	assert_int_equal(resp.status, 404);
	http_response_release(&resp);
}

static void test_headers_sent(void **state)
{
	(void)state;
	struct http_response resp;
	const char *json = "{\"booking_id\": 7}";

	assert_int_equal(call("POST", "/echo?x=1", KEY, "req-42", json, 1000, &resp), 0);
	assert_int_equal(resp.status, 201);
	assert_string_equal(stub_last_path(), "/echo?x=1");
	assert_string_equal(stub_last_body(), json);
	assert_string_equal(stub_last_header("X-Service-Key"), KEY);
	assert_string_equal(stub_last_header("X-Request-ID"), "req-42");
	assert_string_equal(stub_last_header("Content-Type"), "application/json");
	assert_string_equal(stub_last_header("Accept"), "application/json");
	http_response_release(&resp);
}

/* No key, no request id, no body: none of their headers. */
static void test_headers_absent(void **state)
{
	(void)state;
	struct http_response resp;

	assert_int_equal(call("DELETE", "/items/3", NULL, "", NULL, 1000, &resp), 0);
	assert_int_equal(resp.status, 204); /* the method reached the stub */
	assert_string_equal(buf_str(&resp.body), "");
	assert_string_equal(stub_last_header("X-Service-Key"), "");
	assert_string_equal(stub_last_header("X-Request-ID"), "");
	assert_string_equal(stub_last_header("Content-Type"), "");
	http_response_release(&resp);
	assert_int_equal(call("GET", "/ok", NULL, NULL, NULL, 1000, &resp), 0);
	assert_string_equal(stub_last_header("X-Request-ID"), "");
	http_response_release(&resp);
}

static void test_no_answer_in_time(void **state)
{
	(void)state;
	struct http_response resp;
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(call("GET", "/slow", KEY, NULL, NULL, 150, &resp), -1);
	long ms = elapsed_ms(&t0);
	if (ms < 100 || ms > 800)
		fail_msg("a 150 ms timeout took %ld ms", ms);
	assert_int_equal(resp.status, 0);
	http_response_release(&resp);
	/* the handle is fine afterwards */
	assert_int_equal(call("GET", "/ok", KEY, NULL, NULL, 2000, &resp), 0);
	assert_int_equal(resp.status, 200);
	http_response_release(&resp);
}

static void test_connection_refused(void **state)
{
	(void)state;
	struct http_response resp;
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(http_call("GET", "http://127.0.0.1:1/x", KEY, NULL, NULL, 2000, &resp),
	                 -1);
	assert_true(elapsed_ms(&t0) < 1500);
	assert_int_equal(resp.status, 0);
	assert_string_equal(buf_str(&resp.body), "");
	http_response_release(&resp);
	/* not a scheme we call */
	assert_int_equal(http_call("GET", "file:///etc/passwd", KEY, NULL, NULL, 500, &resp), -1);
	assert_string_equal(buf_str(&resp.body), "");
	http_response_release(&resp);
}

static struct json_object *json_of(const char *body)
{
	struct http_response resp = {.status = 200};
	struct json_object *o;

	buf_init(&resp.body);
	buf_adds(&resp.body, body);
	o = http_response_json(&resp);
	http_response_release(&resp);
	return o;
}

static void test_response_json(void **state)
{
	(void)state;
	struct json_object *o = json_of("{\"id\": 5, \"name\": \"x\"}");
	struct json_object *v;

	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "id", &v));
	assert_int_equal(json_object_get_int64(v), 5);
	json_object_put(o);
	const char *not_objects[] = {"[1, 2]",   "\"text\"", "42", "null",  "true",
	                             "{\"a\": ", "garbage",  "",   "<html>"};
	for (size_t i = 0; i < sizeof(not_objects) / sizeof(not_objects[0]); i++) {
		o = json_of(not_objects[i]);
		if (o != NULL)
			fail_msg("'%s' gave an object", not_objects[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_ok_with_body),      cmocka_unit_test(test_5xx_is_an_answer),
	        cmocka_unit_test(test_headers_sent),      cmocka_unit_test(test_headers_absent),
	        cmocka_unit_test(test_no_answer_in_time), cmocka_unit_test(test_connection_refused),
	        cmocka_unit_test(test_response_json),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
