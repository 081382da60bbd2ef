/* test_cors.c - cors.h and the CORS headers serve.c adds: exact origins
 * only, the CORS_ORIGINS check, an allowed origin's headers on answers
 * (errors included), a preflight (204 with the path's methods, no auth
 * needed, 404 for no such path), a disallowed origin (no CORS headers,
 * a preflight is the 405 it always was) and CORS off by default. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "conf.h"
#include "cors.h"
#include "harness.h"
#include "reply.h"
#include "req.h"
#include "worker.h"

#define APP "https://app.example.com"

static void h_ok(struct req *r)
{
	reply_header(r, "X-Total-Count", "0");
	reply_raw(r, 200, "application/json", "[]", 2);
}

static const struct route routes[] = {
        {"GET", "/things", h_ok, 0},
        {"POST", "/things", h_ok, ROUTE_USER},
        {"DELETE", "/things/:id", h_ok, ROUTE_ADMIN},
        {NULL, NULL, NULL, 0},
};

static const struct service svc = {
        .name = "unit",
        .health_name = "unit-service",
        .routes = routes,
};

static struct conf conf;
static struct worker w;
static const struct harness_response *const res = &harness_res;

static int with_cors(void **state)
{
	const char *const extra[] = {"CORS_ORIGINS=" APP ", http://localhost:5173", NULL};

	(void)state;
	harness_worker_init(&w, &conf, &svc, extra);
	return 0;
}

static int without_cors(void **state)
{
	(void)state;
	harness_worker_init(&w, &conf, &svc, NULL);
	return 0;
}

static int release(void **state)
{
	(void)state;
	harness_done(NULL);
	harness_worker_release(&w, &conf, &svc);
	return 0;
}

/* Serve method path with Origin origin (NULL: none) and, when preflight
 * is not NULL, Access-Control-Request-Method: preflight. */
static void call(const char *method, const char *path, const char *origin, const char *preflight)
{
	char m[32], doc[64], o[128], acrm[64];
	const char *p[5] = {m, doc, NULL, NULL, NULL};
	int n = 2;

	snprintf(m, sizeof(m), "REQUEST_METHOD=%s", method);
	snprintf(doc, sizeof(doc), "DOCUMENT_URI=%s", path);
	if (origin) {
		snprintf(o, sizeof(o), "HTTP_ORIGIN=%s", origin);
		p[n++] = o;
	}
	if (preflight) {
		snprintf(acrm, sizeof(acrm), "HTTP_ACCESS_CONTROL_REQUEST_METHOD=%s", preflight);
		p[n++] = acrm;
	}
	harness_call_run(&w, p, NULL, 0);
}

static void test_allowed(void **state)
{
	(void)state;
	assert_int_equal(cors_allowed(APP, APP), 1);
	assert_int_equal(cors_allowed(APP ", http://localhost:5173", "http://localhost:5173"), 1);
	assert_int_equal(cors_allowed(" " APP " ,http://b.example", APP), 1);
	/* exact: no prefix, suffix, other scheme or port */
	assert_int_equal(cors_allowed(APP, "https://app.example.com.evil.test"), 0);
	assert_int_equal(cors_allowed(APP, "https://app.example.co"), 0);
	assert_int_equal(cors_allowed(APP, "http://app.example.com"), 0);
	assert_int_equal(cors_allowed(APP, "https://app.example.com:8443"), 0);
	assert_int_equal(cors_allowed(APP, "null"), 0);
	assert_int_equal(cors_allowed(APP, ""), 0);
	assert_int_equal(cors_allowed(NULL, APP), 0);
	assert_int_equal(cors_allowed("", APP), 0);
}

static void test_check(void **state)
{
	(void)state;
	assert_null(cors_check_origins(APP));
	assert_null(cors_check_origins(APP ",http://localhost:5173, http://[::1]:8080"));
	const char *bad[] = {"*",
	                     "app.example.com",
	                     "https://app.example.com/",
	                     "https://",
	                     "https://App.example.com",
	                     "ftp://x.example",
	                     APP ",",
	                     APP ",,x",
	                     "https://a.example:",
	                     "https://a.example/path",
	                     NULL};
	for (int i = 0; bad[i]; i++)
		if (cors_check_origins(bad[i]) == NULL)
			fail_msg("CORS_ORIGINS '%s' accepted", bad[i]);
}

/* An environment with CORS_ORIGINS "*" and what the pool needs besides. */
static const char *wildcard_env(const char *name)
{
	if (strcmp(name, "CORS_ORIGINS") == 0)
		return "*";
	if (strcmp(name, "DATABASE_URL") == 0)
		return "postgresql://x@127.0.0.1:1/x";
	if (strcmp(name, "SECRET_KEY") == 0)
		return HARNESS_SECRET;
	return NULL;
}

/* A bad CORS_ORIGINS stops the pool with the setting named. */
static void test_bad_setting(void **state)
{
	(void)state;
	struct conf c;
	struct buf errors;

	buf_init(&errors);
	assert_int_equal(conf_load(&c, &svc, wildcard_env, &errors), -1);
	assert_non_null(strstr(buf_str(&errors), "CORS_ORIGINS: "));
	conf_release(&c, &svc);
	buf_release(&errors);
}

static void expect_cors(const char *origin)
{
	assert_string_equal(harness_res_header("Access-Control-Allow-Origin"), origin);
	assert_string_equal(harness_res_header("Vary"), "Origin");
	const char *expose = harness_res_header("Access-Control-Expose-Headers");
	assert_non_null(expose);
	const char *want[] = {"X-Request-ID",        "X-Total-Count", "ETag",
	                      "Idempotent-Replayed", "Retry-After",   NULL};
	for (int i = 0; want[i]; i++)
		assert_non_null(strstr(expose, want[i]));
}

static void test_allowed_origin_headers(void **state)
{
	(void)state;
	call("GET", "/things", APP, NULL);
	assert_int_equal(res->status, 200);
	expect_cors(APP);
	call("GET", "/things", "http://localhost:5173", NULL);
	expect_cors("http://localhost:5173");
	/* errors too: the app must be able to read a 401 or a 404 */
	call("POST", "/things", APP, NULL);
	assert_int_equal(res->status, 401);
	expect_cors(APP);
	call("GET", "/nothing", APP, NULL);
	assert_int_equal(res->status, 404);
	expect_cors(APP);
	/* no preflight headers on a plain answer */
	assert_null(harness_res_header("Access-Control-Allow-Methods"));
}

static void test_preflight(void **state)
{
	(void)state;
	call("OPTIONS", "/things", APP, "POST");
	assert_int_equal(res->status, 204);
	assert_int_equal(res->body_len, 0);
	expect_cors(APP);
	assert_string_equal(harness_res_header("Access-Control-Allow-Methods"), "GET, HEAD, POST");
	const char *h = harness_res_header("Access-Control-Allow-Headers");
	assert_non_null(h);
	const char *want[] = {"Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID",
	                      NULL};
	for (int i = 0; want[i]; i++)
		assert_non_null(strstr(h, want[i]));
	assert_string_equal(harness_res_header("Access-Control-Max-Age"), CORS_MAX_AGE);
	/* the route's own methods, a capture included; auth is not asked for */
	call("OPTIONS", "/things/7", APP, "DELETE");
	assert_int_equal(res->status, 204);
	assert_string_equal(harness_res_header("Access-Control-Allow-Methods"), "DELETE");
	/* the built-in routes too */
	call("OPTIONS", "/health", APP, "GET");
	assert_int_equal(res->status, 204);
	assert_string_equal(harness_res_header("Access-Control-Allow-Methods"), "GET, HEAD");
	call("OPTIONS", "/nothing", APP, "GET");
	harness_expect_error(404, "Not Found");
}

static void test_disallowed_origin(void **state)
{
	(void)state;
	call("GET", "/things", "https://evil.example", NULL);
	assert_int_equal(res->status, 200);
	assert_null(harness_res_header("Access-Control-Allow-Origin"));
	assert_null(harness_res_header("Access-Control-Expose-Headers"));
	assert_string_equal(harness_res_header("Vary"), "Origin");
	/* its preflight is an OPTIONS like any other: 405 */
	call("OPTIONS", "/things", "https://evil.example", "POST");
	harness_expect_error(405, "Method Not Allowed");
	assert_null(harness_res_header("Access-Control-Allow-Origin"));
	assert_null(harness_res_header("Access-Control-Allow-Methods"));
	/* no Origin: not a browser's cross-origin call */
	call("GET", "/things", NULL, NULL);
	assert_null(harness_res_header("Access-Control-Allow-Origin"));
}

static void test_off_by_default(void **state)
{
	(void)state;
	call("GET", "/things", APP, NULL);
	assert_int_equal(res->status, 200);
	assert_null(harness_res_header("Access-Control-Allow-Origin"));
	assert_null(harness_res_header("Vary"));
	call("OPTIONS", "/things", APP, "POST");
	harness_expect_error(405, "Method Not Allowed");
}

int main(void)
{
	const struct CMUnitTest rules[] = {
	        cmocka_unit_test(test_allowed),
	        cmocka_unit_test(test_check),
	        cmocka_unit_test(test_bad_setting),
	};
	const struct CMUnitTest on[] = {
	        cmocka_unit_test_teardown(test_allowed_origin_headers, harness_done),
	        cmocka_unit_test_teardown(test_preflight, harness_done),
	        cmocka_unit_test_teardown(test_disallowed_origin, harness_done),
	};
	const struct CMUnitTest off[] = {
	        cmocka_unit_test_teardown(test_off_by_default, harness_done),
	};
	int failed = cmocka_run_group_tests_name("rules", rules, harness_quiet, NULL);
	failed += cmocka_run_group_tests_name("cors on", on, with_cors, release);
	failed += cmocka_run_group_tests_name("cors off", off, without_cors, release);
	return failed;
}
