/* test_etag.c - etag.h and the conventions serve.c keeps for GET
 * routes: a route with ROUTE_ETAG tags its 200 answers (the same body,
 * the same tag; another body, another tag), answers a matching
 * If-None-Match with 304 and no body, and is marked revalidate-first
 * (no-cache) where others are no-store; HEAD is a GET's status and
 * headers (Content-Length and ETag included) without the body, also for
 * /health, and a 405's Allow names HEAD wherever GET is allowed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "etag.h"
#include "harness.h"
#include "reply.h"
#include "req.h"
#include "worker.h"

static const char *body = "{\"id\":1}";

static void h_item(struct req *r)
{
	reply_raw(r, 200, "application/json", body, strlen(body));
}

static void h_missing(struct req *r)
{
	reply_error(r, 404, "Item not found");
}

static const struct route routes[] = {
        {"GET", "/items/1", h_item, ROUTE_ETAG},
        {"GET", "/items/2", h_missing, ROUTE_ETAG},
        {"GET", "/untagged", h_item, 0},
        {"GET", "/private", h_item, ROUTE_USER | ROUTE_ETAG},
        {"POST", "/untagged", h_item, 0},
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

static int start(void **state)
{
	(void)state;
	harness_worker_init(&w, &conf, &svc, NULL);
	return 0;
}

static int stop(void **state)
{
	(void)state;
	harness_done(NULL);
	harness_worker_release(&w, &conf, &svc);
	return 0;
}

/* Serve method path with If-None-Match: inm (NULL: none). */
static void call(const char *method, const char *path, const char *inm)
{
	char m[32], doc[64], h[256];
	const char *p[4] = {m, doc, NULL, NULL};

	snprintf(m, sizeof(m), "REQUEST_METHOD=%s", method);
	snprintf(doc, sizeof(doc), "DOCUMENT_URI=%s", path);
	if (inm) {
		snprintf(h, sizeof(h), "HTTP_IF_NONE_MATCH=%s", inm);
		p[2] = h;
	}
	harness_call_run(&w, p, NULL, 0);
}

static void test_etag_of(void **state)
{
	(void)state;
	char a[ETAG_MAX], b[ETAG_MAX], c[ETAG_MAX];

	etag_of("abc", 3, a);
	etag_of("abc", 3, b);
	etag_of("abd", 3, c);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	assert_int_equal(a[0], '"');
	assert_int_equal(a[strlen(a) - 1], '"');
	etag_of("", 0, c);
	assert_string_not_equal(a, c);
}

static void test_matches(void **state)
{
	(void)state;
	const char *tag = "\"abc-3\"";

	assert_int_equal(etag_matches("\"abc-3\"", tag), 1);
	assert_int_equal(etag_matches("W/\"abc-3\"", tag), 1); /* weak comparison */
	assert_int_equal(etag_matches("\"x\", \"abc-3\"", tag), 1);
	assert_int_equal(etag_matches("\"x\",W/\"abc-3\"", tag), 1);
	assert_int_equal(etag_matches("*", tag), 1);
	assert_int_equal(etag_matches("", tag), 0);
	assert_int_equal(etag_matches("\"abc-4\"", tag), 0);
	assert_int_equal(etag_matches("\"abc-3", tag), 0);
	assert_int_equal(etag_matches("abc-3", tag), 0);
	assert_int_equal(etag_matches("\"abc\"", tag), 0);
	assert_int_equal(etag_matches("\"x\", garbage \"abc-3\"", tag), 0);
}

static void test_tagged_and_304(void **state)
{
	(void)state;
	char tag[ETAG_MAX], want[ETAG_MAX];

	call("GET", "/items/1", NULL);
	assert_int_equal(res->status, 200);
	etag_of(body, strlen(body), want);
	assert_string_equal(harness_res_header("ETag"), want);
	assert_string_equal(harness_res_header("Cache-Control"), "no-cache");
	snprintf(tag, sizeof(tag), "%s", want);

	call("GET", "/items/1", tag);
	assert_int_equal(res->status, 304);
	assert_int_equal(res->body_len, 0);
	assert_string_equal(harness_res_header("ETag"), tag);
	assert_null(harness_res_header("Content-Length"));
	assert_null(harness_res_header("Content-Type"));
	assert_non_null(harness_res_header("X-Request-ID"));

	call("GET", "/items/1", "\"stale-1\"");
	assert_int_equal(res->status, 200);
	assert_int_equal(res->body_len, strlen(body));
}

static void test_only_200_and_opted_in(void **state)
{
	(void)state;
	call("GET", "/items/2", "*");
	harness_expect_error(404, "Item not found");
	assert_null(harness_res_header("ETag"));
	call("GET", "/untagged", "*");
	assert_int_equal(res->status, 200);
	assert_null(harness_res_header("ETag"));
	assert_string_equal(harness_res_header("Cache-Control"), "no-store");
	/* the flag is no caller: a tagged route's auth still holds */
	call("GET", "/private", NULL);
	assert_int_equal(res->status, 401);
}

static void test_head(void **state)
{
	(void)state;
	char length[16];

	call("GET", "/items/1", NULL);
	snprintf(length, sizeof(length), "%s", harness_res_header("Content-Length"));
	call("HEAD", "/items/1", NULL);
	assert_int_equal(res->status, 200);
	assert_int_equal(res->body_len, 0);
	assert_string_equal(harness_res_header("Content-Length"), length);
	assert_string_equal(harness_res_header("Content-Type"), "application/json");
	assert_non_null(harness_res_header("ETag"));
	call("HEAD", "/items/2", NULL);
	assert_int_equal(res->status, 404);
	assert_int_equal(res->body_len, 0);
	/* the built-in routes: /health answers 503 here (nothing reachable) */
	call("HEAD", "/health", NULL);
	assert_int_equal(res->status, 503);
	assert_int_equal(res->body_len, 0);
	assert_true(atoi(harness_res_header("Content-Length")) > 0);
	call("HEAD", "/metrics", NULL);
	assert_int_equal(res->status, 200);
	assert_int_equal(res->body_len, 0);
}

static void test_allow_names_head(void **state)
{
	(void)state;
	call("DELETE", "/untagged", NULL);
	harness_expect_error(405, "Method Not Allowed");
	assert_string_equal(harness_res_header("Allow"), "GET, HEAD, POST");
	call("PUT", "/health", NULL);
	assert_string_equal(harness_res_header("Allow"), "GET, HEAD");
	call("HEAD", "/nothing", NULL);
	assert_int_equal(res->status, 404);
	assert_int_equal(res->body_len, 0);
}

int main(void)
{
	const struct CMUnitTest rules[] = {
	        cmocka_unit_test(test_etag_of),
	        cmocka_unit_test(test_matches),
	};
	const struct CMUnitTest served[] = {
	        cmocka_unit_test_teardown(test_tagged_and_304, harness_done),
	        cmocka_unit_test_teardown(test_only_200_and_opted_in, harness_done),
	        cmocka_unit_test_teardown(test_head, harness_done),
	        cmocka_unit_test_teardown(test_allow_names_head, harness_done),
	};
	int failed = cmocka_run_group_tests_name("etag", rules, NULL, NULL);
	failed += cmocka_run_group_tests_name("served", served, start, stop);
	return failed;
}
