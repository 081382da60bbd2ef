/* test_serve.c - serve.h: one FastCGI request in, one response out,
 * driven through the in-memory streams of tests/harness (no socket):
 * routing (404, 405 + Allow), the auth flags (401 + WWW-Authenticate,
 * 403, service key), X-Request-ID, the body limit (413), a handler
 * that never replies (500), the built-in /health (503 with nothing
 * reachable) and /metrics (with a service's gauges, read or not), and
 * serve_current_route(). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "auth.h"
#include "conf.h"
#include "harness.h"
#include "metrics.h"
#include "reply.h"
#include "req.h"
#include "serve.h"
#include "worker.h"

/* ---- the pool under test ---- */

static struct conf conf;
static struct worker w;
static char busy[256];
static char seen_route[128]; /* serve_current_route() inside a handler */
static struct req seen;      /* a copy of what the last handler saw */
static char seen_body[256];

static void remember(struct req *r)
{
	seen = *r;
	snprintf(seen_body, sizeof(seen_body), "%s", r->body ? r->body : "");
	const char *cur = serve_current_route();
	snprintf(seen_route, sizeof(seen_route), "%s", cur ? cur : "(null)");
}

static void h_echo(struct req *r)
{
	remember(r);
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "path", json_object_new_string(r->path));
	json_object_object_add(o, "query", json_object_new_string(r->query));
	reply_json(r, 201, o);
}

static void h_item(struct req *r)
{
	int64_t id;
	remember(r);
	if (req_param_id_or_reply(r, "id", NULL, &id) < 0)
		return;
	reply_header(r, "X-Total-Count", "1");
	reply_error(r, 200, "item");
}

static void h_silent(struct req *r)
{
	remember(r);
}

static const struct route routes[] = {
        {"POST", "/echo", h_echo, 0},
        {"GET", "/items/:id", h_item, 0},
        {"DELETE", "/items/:id", h_item, ROUTE_ADMIN},
        {"GET", "/me", h_silent, ROUTE_USER},
        {"GET", "/admin", h_echo, ROUTE_ADMIN},
        {"GET", "/internal/x", h_echo, ROUTE_SERVICE},
        {"GET", "/either", h_echo, ROUTE_ADMIN | ROUTE_SERVICE},
        {"GET", "/silent", h_silent, 0},
        {NULL, NULL, NULL, 0},
};

/* The user_active hook: uid 13 is gone, uid 14 cannot be told (-1),
 * everyone else is active; user_asks counts the calls. */
static int user_asks;
static int unit_user_active(struct worker *wk, int64_t uid, const char *request_id)
{
	(void)wk;
	(void)request_id;
	user_asks++;
	return uid == 13 ? 0 : uid == 14 ? -1 : 1;
}

static const struct service svc = {
        .name = "unit",
        .health_name = "unit-service",
        .routes = routes,
        .user_active = unit_user_active,
};

static int setup(void **state)
{
	(void)state;
	harness_worker_init(&w, &conf, &svc, NULL);
	w.busy_route = busy;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	harness_worker_release(&w, &conf, &svc);
	return 0;
}

/* Serve method uri with what nginx always sends (DOCUMENT_URI and
 * SCRIPT_NAME: the path of uri; REQUEST_URI: uri), then the params of
 * extra (NULL-terminated; NULL: none) and body. The params stay until
 * the next call: what the handler saw (seen) points into them. */
static void serve(const char *method, const char *uri, const char *const *extra, const char *body,
                  size_t body_len, struct harness_response *res)
{
	static char m[32], doc[128], script[128], req_uri[128];
	const char *p[16] = {m, doc, script, req_uri};
	int n = 4;
	int path_len = (int)strcspn(uri, "?");

	snprintf(m, sizeof(m), "REQUEST_METHOD=%s", method);
	snprintf(doc, sizeof(doc), "DOCUMENT_URI=%.*s", path_len, uri);
	snprintf(script, sizeof(script), "SCRIPT_NAME=%.*s", path_len, uri);
	snprintf(req_uri, sizeof(req_uri), "REQUEST_URI=%s", uri);
	for (int i = 0; extra && extra[i]; i++) {
		assert_true(n < 15);
		p[n++] = extra[i];
	}
	p[n] = NULL;
	harness_run(&w, p, body, body_len, res);
}

/* A GET of path without a body; extra: one more param (NULL: none). */
static void get(const char *path, const char *extra, struct harness_response *res)
{
	const char *more[] = {extra, NULL};

	serve("GET", path, more, NULL, 0, res);
}

static void check_common(struct harness_response *res)
{
	char v[256];
	assert_non_null(harness_header(res, "X-Request-ID", v, sizeof(v)));
	assert_true(strlen(v) > 0);
	/* the headers are CRLF lines, none empty, none with a bare CR or LF */
	for (const char *p = res->headers; *p; p++) {
		if (*p == '\r')
			assert_int_equal(p[1], '\n');
		if (*p == '\n')
			assert_int_equal(p[-1], '\r');
	}
	const char *cl = harness_header(res, "Content-Length", v, sizeof(v));
	if (cl)
		assert_int_equal(strtoul(cl, NULL, 10), res->body_len);
}

/* An Authorization param for uid (malloc'd, to free). */
static char *bearer(int64_t uid, const char *sub, int admin)
{
	char *b = harness_bearer(uid, sub, admin);
	char *h = malloc(strlen(b) + 32);
	assert_non_null(h);
	sprintf(h, "HTTP_AUTHORIZATION=%s", b);
	free(b);
	return h;
}

/* ---- tests ---- */

static void test_current_route_idle(void **state)
{
	(void)state;
	const char *r = serve_current_route();
	assert_true(r == NULL || r[0] != '/');
}

static void test_handler_sees_request(void **state)
{
	(void)state;
	struct harness_response res;
	const char *body = "{\"a\":1}";
	const char *p[] = {"QUERY_STRING=x=1&y=two", "CONTENT_TYPE=application/json",
	                   "CONTENT_LENGTH=7", "HTTP_IDEMPOTENCY_KEY=idem-1", NULL};
	serve("POST", "/echo?x=1&y=two", p, body, strlen(body), &res);
	check_common(&res);
	assert_int_equal(res.status, 201);
	char v[128];
	assert_non_null(harness_header(&res, "Content-Type", v, sizeof(v)));
	assert_non_null(strstr(v, "application/json"));
	assert_string_equal(seen.method, "POST");
	assert_string_equal(seen.path, "/echo");
	assert_string_equal(seen.query, "x=1&y=two");
	assert_string_equal(seen.content_type, "application/json");
	assert_string_equal(seen.idempotency_key, "idem-1");
	assert_string_equal(seen_body, "{\"a\":1}");
	assert_int_equal(seen.body_len, 7);
	assert_int_equal(seen.caller, CALLER_NONE);
	assert_string_equal(seen_route, "/echo");
	/* idle again afterwards */
	test_current_route_idle(NULL);
	struct json_object *v2;
	assert_true(json_object_object_get_ex(res.json, "path", &v2));
	assert_string_equal(json_object_get_string(v2), "/echo");
	harness_response_free(&res);
}

/* get, and the answer has status and the headers every answer has. */
static void get_checked(const char *path, const char *extra, int status,
                        struct harness_response *res)
{
	get(path, extra, res);
	check_common(res);
	assert_int_equal(res->status, status);
}

/* GET path (one more param: extra, or none) answers status with detail
 * (NULL: any) and the headers every answer has. */
static void expect_get(const char *path, const char *extra, int status, const char *detail)
{
	struct harness_response res;

	get_checked(path, extra, status, &res);
	if (detail)
		assert_string_equal(harness_detail(&res), detail);
	else
		(void)harness_detail(&res);
	harness_response_free(&res);
}

static void test_not_found(void **state)
{
	(void)state;
	expect_get("/nope", NULL, 404, "Not Found");
}

static void test_bad_method(void **state)
{
	(void)state;
	struct harness_response res;
	serve("PUT", "/items/5", NULL, NULL, 0, &res);
	check_common(&res);
	assert_int_equal(res.status, 405);
	assert_string_equal(harness_detail(&res), "Method Not Allowed");
	char v[128];
	assert_non_null(harness_header(&res, "Allow", v, sizeof(v)));
	assert_non_null(strstr(v, "GET"));
	assert_non_null(strstr(v, "DELETE"));
	harness_response_free(&res);
}

static void test_capture_and_headers(void **state)
{
	(void)state;
	struct harness_response res;
	get_checked("/items/12", NULL, 200, &res);
	char v[64];
	assert_non_null(harness_header(&res, "X-Total-Count", v, sizeof(v)));
	assert_string_equal(v, "1");
	assert_string_equal(seen_route, "/items/:id");
	harness_response_free(&res);

	get("/items/abc", NULL, &res);
	assert_int_equal(res.status, 404);
	harness_response_free(&res);
}

static void test_no_reply_is_500(void **state)
{
	(void)state;
	expect_get("/silent", NULL, 500, NULL);
}

static void test_request_id(void **state)
{
	(void)state;
	struct harness_response res;
	char v[256];
	get("/nope", "HTTP_X_REQUEST_ID=abc-123_x.y", &res);
	assert_string_equal(harness_header(&res, "X-Request-ID", v, sizeof(v)), "abc-123_x.y");
	harness_response_free(&res);

	/* two requests without one get different generated ids */
	char first[256];
	get("/nope", NULL, &res);
	snprintf(first, sizeof(first), "%s", harness_header(&res, "X-Request-ID", v, sizeof(v)));
	harness_response_free(&res);
	get("/nope", NULL, &res);
	assert_string_not_equal(harness_header(&res, "X-Request-ID", v, sizeof(v)), first);
	harness_response_free(&res);

	/* a hostile id never reaches the headers as sent */
	get("/nope", "HTTP_X_REQUEST_ID=x\r\nSet-Cookie: a=b", &res);
	check_common(&res);
	assert_null(strstr(res.headers, "Set-Cookie"));
	harness_response_free(&res);
}

/* GET path with the one param auth: its status (the answer is freed). */
static int status_of(const char *path, const char *auth)
{
	struct harness_response res;

	get(path, auth, &res);
	int status = res.status;
	harness_response_free(&res);
	return status;
}

static void test_user_auth(void **state)
{
	(void)state;
	struct harness_response res;
	char v[128];
	get_checked("/me", NULL, 401, &res);
	assert_string_equal(harness_detail(&res), "Not authenticated");
	assert_non_null(harness_header(&res, "WWW-Authenticate", v, sizeof(v)));
	assert_string_equal(v, "Bearer");
	harness_response_free(&res);

	get("/me", "HTTP_AUTHORIZATION=Bearer not.a.token", &res);
	assert_int_equal(res.status, 401);
	assert_string_equal(harness_detail(&res), "Could not validate credentials");
	assert_non_null(harness_header(&res, "WWW-Authenticate", v, sizeof(v)));
	harness_response_free(&res);

	/* a service key is not a user token */
	assert_int_equal(status_of("/me", "HTTP_X_SERVICE_KEY=" HARNESS_SVC_KEY), 401);

	char *tok = bearer(7, "alice", 0);
	assert_int_equal(status_of("/me", tok), 500); /* h_silent never replies */
	assert_int_equal(seen.caller, CALLER_USER);
	assert_int_equal(seen.user.uid, 7);
	assert_string_equal(seen.user.sub, "alice");
	free(tok);
}

static void test_admin_auth(void **state)
{
	(void)state;
	struct harness_response res;
	char *user = bearer(7, "alice", 0);
	char *admin = bearer(1, "root", 1);
	get("/admin", user, &res);
	assert_int_equal(res.status, 403);
	assert_string_equal(harness_detail(&res), "Not enough permissions");
	harness_response_free(&res);
	assert_int_equal(status_of("/admin", admin), 201);
	assert_int_equal(seen.caller, CALLER_USER);
	assert_int_equal(seen.user.admin, 1);
	free(user);
	free(admin);
}

static void test_service_auth(void **state)
{
	(void)state;
	assert_int_equal(status_of("/internal/x", "HTTP_X_SERVICE_KEY=" HARNESS_SVC_KEY), 201);
	assert_int_equal(seen.caller, CALLER_SERVICE);

	int wrong = status_of("/internal/x", "HTTP_X_SERVICE_KEY=" HARNESS_SECRET);
	assert_true(wrong == 401 || wrong == 403);

	/* a user token, even an admin's, is not the service credential */
	char *admin = bearer(1, "root", 1);
	int as_admin = status_of("/internal/x", admin);
	assert_true(as_admin == 401 || as_admin == 403);

	/* either flag: the service key or an admin token */
	assert_int_equal(status_of("/either", "HTTP_X_SERVICE_KEY=" HARNESS_SVC_KEY), 201);
	assert_int_equal(seen.caller, CALLER_SERVICE);
	assert_int_equal(status_of("/either", admin), 201);
	assert_int_equal(seen.caller, CALLER_USER);
	free(admin);
}

/* A key rotation: tokens signed with SECRET_KEY_ACCEPTED and calls with
 * SERVICE_KEY_ACCEPTED pass, besides the current keys; others do not. */
static void test_accepted_keys(void **state)
{
	(void)state;
	static char old_secret[] = "rotation-old-secret-rotation-old-secret";
	static char old_service[] = "rotation-old-service-rotation-old-service";
	struct auth_claims claims = {.uid = 9, .admin = 0};
	snprintf(claims.sub, sizeof(claims.sub), "bob");
	char *raw = auth_token_issue(old_secret, &claims, time(NULL), 600);
	assert_non_null(raw);
	char *tok = malloc(strlen(raw) + 40);
	assert_non_null(tok);
	sprintf(tok, "HTTP_AUTHORIZATION=Bearer %s", raw);
	free(raw);
	char key[128];
	snprintf(key, sizeof(key), "HTTP_X_SERVICE_KEY=%s", old_service);

	/* not accepted until configured */
	assert_int_equal(status_of("/me", tok), 401);
	assert_int_equal(status_of("/internal/x", key), 401);

	conf.secret_key_accepted = old_secret;
	conf.service_key_accepted = old_service;
	assert_int_equal(status_of("/me", tok), 500); /* h_silent: auth passed */
	assert_int_equal(seen.user.uid, 9);
	assert_int_equal(status_of("/internal/x", key), 201);
	assert_int_equal(status_of("/internal/x", "HTTP_X_SERVICE_KEY=" HARNESS_SVC_KEY), 201);
	char *cur = bearer(7, "alice", 0);
	assert_int_equal(status_of("/me", cur), 500);
	assert_int_equal(seen.user.uid, 7);
	free(cur);
	/* a key that is neither still fails */
	int wrong = status_of("/internal/x", "HTTP_X_SERVICE_KEY=" HARNESS_SECRET);
	assert_int_equal(wrong, 401);

	conf.secret_key_accepted = NULL;
	conf.service_key_accepted = NULL;
	free(tok);
}

/* A valid token of a user the service says is gone: 401; one it cannot
 * tell about: let through and asked again; answers kept per child. */
static void test_user_gone(void **state)
{
	(void)state;
	char *gone = bearer(13, "ghost", 0), *unknown = bearer(14, "maybe", 0);
	char *alive = bearer(15, "carol", 0);

	struct harness_response res;
	get("/me", gone, &res);
	assert_int_equal(res.status, 401);
	assert_string_equal(harness_detail(&res), "Could not validate credentials");
	harness_response_free(&res);

	int before = user_asks;
	assert_int_equal(status_of("/me", alive), 500); /* h_silent: auth passed */
	assert_int_equal(status_of("/me", alive), 500);
	assert_int_equal(user_asks, before + 1); /* the second answer came from the cache */
	assert_int_equal(status_of("/me", gone), 401);
	assert_int_equal(user_asks, before + 1);

	before = user_asks;
	assert_int_equal(status_of("/me", unknown), 500);
	assert_int_equal(status_of("/me", unknown), 500);
	assert_int_equal(user_asks, before + 2); /* "cannot tell" is not kept */
	free(gone);
	free(unknown);
	free(alive);
}

/* POST /echo of body (len bytes) with the JSON content type and the
 * length as CONTENT_LENGTH. */
static void post_echo(const char *body, size_t len, struct harness_response *res)
{
	char cl[64];
	const char *p[] = {"CONTENT_TYPE=application/json", cl, NULL};

	snprintf(cl, sizeof(cl), "CONTENT_LENGTH=%zu", len);
	serve("POST", "/echo", p, body, len, res);
}

static void test_body_too_large(void **state)
{
	(void)state;
	struct harness_response res;
	char *body = malloc(2048);
	memset(body, 'x', 2048);
	memset(&seen, 0, sizeof(seen));
	post_echo(body, 2048, &res);
	check_common(&res);
	assert_int_equal(res.status, 413);
	(void)harness_detail(&res);
	assert_null(seen.method); /* the handler never ran */
	harness_response_free(&res);
	free(body);
}

static void test_body_at_limit(void **state)
{
	(void)state;
	struct harness_response res;
	char *body = malloc(1024);
	memset(body, ' ', 1024);
	body[0] = '{';
	body[1] = '}';
	post_echo(body, 1024, &res);
	assert_int_equal(res.status, 201);
	assert_int_equal(seen.body_len, 1024);
	harness_response_free(&res);
	free(body);
}

static void test_bad_content_length(void **state)
{
	(void)state;
	struct harness_response res;
	/* the last: fewer bytes than announced */
	const char *bad[] = {"CONTENT_LENGTH=abc", "CONTENT_LENGTH=-1", "CONTENT_LENGTH=12x",
	                     "CONTENT_LENGTH=99999999999999999999999", "CONTENT_LENGTH=100"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *p[] = {bad[i], NULL};
		serve("POST", "/echo", p, "{}", 2, &res);
		check_common(&res);
		if (res.status < 400 || res.status > 499)
			fail_msg("%s: status %d", bad[i], res.status);
		harness_response_free(&res);
	}
}

static void test_health_unreachable(void **state)
{
	(void)state;
	struct harness_response res;
	get_checked("/health", NULL, 503, &res);
	assert_non_null(res.json);
	struct json_object *v, *checks;
	assert_true(json_object_object_get_ex(res.json, "status", &v));
	assert_string_equal(json_object_get_string(v), "unhealthy");
	assert_true(json_object_object_get_ex(res.json, "service", &v));
	assert_string_equal(json_object_get_string(v), "unit-service");
	assert_true(json_object_object_get_ex(res.json, "checks", &checks));
	assert_true(json_object_object_get_ex(checks, "database", &v));
	assert_string_not_equal(json_object_get_string(v), "ok");
	assert_true(json_object_object_get_ex(checks, "redis", &v));
	assert_string_not_equal(json_object_get_string(v), "ok");
	harness_response_free(&res);
}

static void test_metrics_endpoint(void **state)
{
	(void)state;
	struct harness_response res;
	uint64_t before = metrics_get(w.metrics, "http_requests_total",
	                              "method=\"GET\",route=\"/items/:id\",status=\"200\"");
	get("/items/3", NULL, &res);
	harness_response_free(&res);
	assert_int_equal(metrics_get(w.metrics, "http_requests_total",
	                             "method=\"GET\",route=\"/items/:id\",status=\"200\""),
	                 before + 1);
	get_checked("/metrics", NULL, 200, &res);
	char v[128];
	assert_non_null(harness_header(&res, "Content-Type", v, sizeof(v)));
	assert_non_null(strstr(v, "text/plain"));
	assert_non_null(strstr(res.body, "# TYPE http_requests_total counter"));
	assert_non_null(
	        strstr(res.body, "http_requests_total{method=\"GET\",route=\"/items/:id\","));
	/* the route label is the pattern, never the raw path */
	assert_null(strstr(res.body, "route=\"/items/3\""));
	harness_response_free(&res);

	/* an invented method is counted as "other": no series of its own */
	uint64_t other = metrics_get(w.metrics, "http_requests_total",
	                             "method=\"other\",route=\"unmatched\",status=\"405\"");
	serve("SECPROBEA", "/items/3", NULL, NULL, 0, &res);
	assert_int_equal(res.status, 405);
	harness_response_free(&res);
	assert_int_equal(metrics_get(w.metrics, "http_requests_total",
	                             "method=\"other\",route=\"unmatched\",status=\"405\""),
	                 other + 1);
	get_checked("/metrics", NULL, 200, &res);
	assert_null(strstr(res.body, "SECPROBEA"));
	harness_response_free(&res);
}

/* A service's gauges hook: one gauge, then the answer the test asks for. */
static int gauges_answer;
static int unit_gauges(struct worker *wk, struct buf *out)
{
	assert_ptr_equal(wk, &w);
	metrics_gauge(out, "unit_backlog", "items waiting", 3);
	return gauges_answer;
}

/* /metrics appends the service's gauges and says whether they were all
 * read; a hook that fails (its database down) still gets a 200. */
static void test_metrics_gauges(void **state)
{
	(void)state;
	struct service with_gauges = svc;
	struct harness_response res;

	with_gauges.gauges = unit_gauges;
	get_checked("/metrics", NULL, 200, &res);
	assert_null(strstr(res.body, "metrics_gauges_ok"));
	harness_response_free(&res);

	w.svc = &with_gauges;
	gauges_answer = 0;
	get_checked("/metrics", NULL, 200, &res);
	assert_non_null(strstr(res.body, "# TYPE http_requests_total counter\n"));
	assert_non_null(strstr(res.body, "# TYPE unit_backlog gauge\nunit_backlog 3\n"));
	assert_non_null(strstr(res.body, "# TYPE metrics_gauges_ok gauge\nmetrics_gauges_ok 1\n"));
	harness_response_free(&res);

	gauges_answer = -1;
	get_checked("/metrics", NULL, 200, &res);
	assert_non_null(strstr(res.body, "unit_backlog 3\n"));
	assert_non_null(strstr(res.body, "metrics_gauges_ok 0\n"));
	harness_response_free(&res);
	w.svc = &svc;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_current_route_idle),
	        cmocka_unit_test(test_handler_sees_request),
	        cmocka_unit_test(test_not_found),
	        cmocka_unit_test(test_bad_method),
	        cmocka_unit_test(test_capture_and_headers),
	        cmocka_unit_test(test_no_reply_is_500),
	        cmocka_unit_test(test_request_id),
	        cmocka_unit_test(test_user_auth),
	        cmocka_unit_test(test_admin_auth),
	        cmocka_unit_test(test_service_auth),
	        cmocka_unit_test(test_accepted_keys),
	        cmocka_unit_test(test_user_gone),
	        cmocka_unit_test(test_body_too_large),
	        cmocka_unit_test(test_body_at_limit),
	        cmocka_unit_test(test_bad_content_length),
	        cmocka_unit_test(test_health_unreachable),
	        cmocka_unit_test(test_metrics_endpoint),
	        cmocka_unit_test(test_metrics_gauges),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
