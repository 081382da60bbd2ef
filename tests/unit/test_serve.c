/* test_serve.c - serve.h: one FastCGI request in, one response out,
 * driven through in-memory FCGX streams (no socket): routing (404, 405 +
 * Allow), the auth flags (401 + WWW-Authenticate, 403, service key),
 * X-Request-ID, the body limit (413), a handler that never replies (500),
 * the built-in /health (503 with nothing reachable) and /metrics, and
 * serve_current_route(). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <json-c/json.h>

#include "auth.h"
#include "buf.h"
#include "conf.h"
#include "db.h"
#include "kv.h"
#include "log.h"
#include "metrics.h"
#include "reply.h"
#include "req.h"
#include "serve.h"
#include "worker.h"

#define SECRET  "0123456789abcdef0123456789abcdefS"
#define SVC_KEY "fedcba9876543210fedcba9876543210K"

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
	if (req_param_id(r, "id", &id) < 0)
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

static const struct service svc = {
        .name = "unit",
        .health_name = "unit-service",
        .routes = routes,
};

static const char *env_get(const char *name)
{
	static const char *const env[][2] = {
	        {"DATABASE_URL", "postgresql://x:pw@127.0.0.1:1/db"},
	        {"REDIS_URL", "redis://127.0.0.1:1/0"},
	        {"SECRET_KEY", SECRET},
	        {"SERVICE_KEY", SVC_KEY},
	        {"BODY_MAX", "1024"},
	        {"DB_TIMEOUT_MS", "500"},
	};
	for (size_t i = 0; i < sizeof(env) / sizeof(env[0]); i++)
		if (strcmp(env[i][0], name) == 0)
			return env[i][1];
	return NULL;
}

static int setup(void **state)
{
	(void)state;
	struct buf err;
	buf_init(&err);
	log_init("unit", LOG_LVL_DEBUG);
	FILE *f = tmpfile();
	assert_non_null(f);
	log_set_stream(f);
	if (conf_load(&conf, "unit", env_get, &err) != 0)
		fail_msg("conf: %s", buf_str(&err));
	buf_release(&err);
	w.conf = &conf;
	w.svc = &svc;
	w.db = db_new(conf.database_url, 500);
	w.kv = kv_new(conf.redis_url, 200);
	w.metrics = metrics_new(256);
	w.busy_route = busy;
	assert_non_null(w.db);
	assert_non_null(w.kv);
	assert_non_null(w.metrics);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	db_free(w.db);
	kv_free(w.kv);
	metrics_free(w.metrics);
	conf_release(&conf);
	return 0;
}

/* ---- in-memory FastCGI streams ---- */

struct sink {
	unsigned char chunk[512]; /* small, so the stream must be emptied */
	struct buf all;
};

static void sink_empty(FCGX_Stream *s, int doClose)
{
	struct sink *k = s->data;
	buf_add(&k->all, k->chunk, (size_t)(s->wrNext - k->chunk));
	s->wrNext = k->chunk;
	if (doClose)
		s->isClosed = 1;
}

static void source_fill(FCGX_Stream *s)
{
	s->isClosed = 1; /* everything was in the first buffer: EOF */
}

struct response {
	int status;
	char headers[4096];
	char *body;
	size_t body_len;
	struct json_object *json; /* body parsed when JSON, else NULL */
};

/* Serve one request; params is a NULL-terminated "NAME=value" list. */
static void run(const char *const *params, const char *body, size_t body_len, struct response *res)
{
	FCGX_Stream in, out, err;
	struct sink out_sink, err_sink;
	FCGX_Request fr;
	char *envp[32];
	int n = 0;

	for (; params[n]; n++) {
		assert_true(n < 31);
		envp[n] = (char *)params[n];
	}
	envp[n] = NULL;
	memset(&in, 0, sizeof(in));
	in.rdNext = in.stopUnget = (unsigned char *)(body ? body : "");
	in.stop = in.rdNext + body_len;
	in.wrNext = in.stop;
	in.isReader = 1;
	in.fillBuffProc = source_fill;
	memset(&out_sink, 0, sizeof(out_sink));
	memset(&err_sink, 0, sizeof(err_sink));
	buf_init(&out_sink.all);
	buf_init(&err_sink.all);
	memset(&out, 0, sizeof(out));
	out.wrNext = out.rdNext = out_sink.chunk;
	out.stop = out_sink.chunk + sizeof(out_sink.chunk);
	out.emptyBuffProc = sink_empty;
	out.data = &out_sink;
	err = out;
	err.wrNext = err.rdNext = err_sink.chunk;
	err.stop = err_sink.chunk + sizeof(err_sink.chunk);
	err.data = &err_sink;
	memset(&fr, 0, sizeof(fr));
	fr.in = &in;
	fr.out = &out;
	fr.err = &err;
	fr.envp = envp;
	fr.ipcFd = -1;

	serve_request(&w, &fr);
	sink_empty(&out, 1);
	sink_empty(&err, 1);

	const char *all = buf_str(&out_sink.all);
	const char *sep = strstr(all, "\r\n\r\n");
	if (sep == NULL)
		fail_msg("no end of headers in response: %s", all);
	size_t hl = (size_t)(sep - all) + 2;
	assert_true(hl < sizeof(res->headers));
	memcpy(res->headers, all, hl);
	res->headers[hl] = '\0';
	res->body_len = out_sink.all.len - hl - 2;
	res->body = malloc(res->body_len + 1);
	memcpy(res->body, sep + 4, res->body_len);
	res->body[res->body_len] = '\0';
	res->status = 0;
	const char *st = strstr(res->headers, "Status: ");
	assert_non_null(st);
	assert_true(st == res->headers || st[-1] == '\n');
	res->status = atoi(st + 8);
	res->json = json_tokener_parse(res->body);
	buf_release(&out_sink.all);
	buf_release(&err_sink.all);
}

static void response_free(struct response *res)
{
	json_object_put(res->json);
	free(res->body);
}

/* The value of header name (case-sensitive name, as we send it), or NULL. */
static const char *header(struct response *res, const char *name, char *out, size_t outlen)
{
	size_t n = strlen(name);
	for (const char *l = res->headers; *l; l = strstr(l, "\r\n") + 2) {
		if (strncasecmp(l, name, n) == 0 && l[n] == ':') {
			const char *v = l + n + 1;
			while (*v == ' ')
				v++;
			size_t len = (size_t)(strstr(v, "\r\n") - v);
			snprintf(out, outlen, "%.*s", (int)len, v);
			return out;
		}
	}
	return NULL;
}

static const char *detail(struct response *res)
{
	struct json_object *d = NULL;
	if (res->json == NULL || !json_object_object_get_ex(res->json, "detail", &d))
		fail_msg("no detail in body: %s", res->body);
	return json_object_get_string(d);
}

static void check_common(struct response *res)
{
	char v[256];
	assert_non_null(header(res, "X-Request-ID", v, sizeof(v)));
	assert_true(strlen(v) > 0);
	/* the headers are CRLF lines, none empty, none with a bare CR or LF */
	for (const char *p = res->headers; *p; p++) {
		if (*p == '\r')
			assert_int_equal(p[1], '\n');
		if (*p == '\n')
			assert_int_equal(p[-1], '\r');
	}
	const char *cl = header(res, "Content-Length", v, sizeof(v));
	if (cl)
		assert_int_equal(strtoul(cl, NULL, 10), res->body_len);
}

static char *bearer(int64_t uid, const char *sub, int admin)
{
	struct auth_claims c;
	memset(&c, 0, sizeof(c));
	c.uid = uid;
	snprintf(c.sub, sizeof(c.sub), "%s", sub);
	c.admin = admin;
	char *t = auth_token_issue(SECRET, &c, time(NULL), 600);
	assert_non_null(t);
	char *h = malloc(strlen(t) + 32);
	sprintf(h, "HTTP_AUTHORIZATION=Bearer %s", t);
	free(t);
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
	struct response res;
	const char *body = "{\"a\":1}";
	const char *p[] = {"REQUEST_METHOD=POST",
	                   "DOCUMENT_URI=/echo",
	                   "SCRIPT_NAME=/echo",
	                   "REQUEST_URI=/echo?x=1&y=two",
	                   "QUERY_STRING=x=1&y=two",
	                   "CONTENT_TYPE=application/json",
	                   "CONTENT_LENGTH=7",
	                   "HTTP_IDEMPOTENCY_KEY=idem-1",
	                   NULL};
	run(p, body, strlen(body), &res);
	check_common(&res);
	assert_int_equal(res.status, 201);
	char v[128];
	assert_non_null(header(&res, "Content-Type", v, sizeof(v)));
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
	response_free(&res);
}

static void test_not_found(void **state)
{
	(void)state;
	struct response res;
	const char *p[] = {"REQUEST_METHOD=GET", "DOCUMENT_URI=/nope", "SCRIPT_NAME=/nope",
	                   "REQUEST_URI=/nope", NULL};
	run(p, NULL, 0, &res);
	check_common(&res);
	assert_int_equal(res.status, 404);
	assert_string_equal(detail(&res), "Not Found");
	response_free(&res);
}

static void test_bad_method(void **state)
{
	(void)state;
	struct response res;
	const char *p[] = {"REQUEST_METHOD=PUT", "DOCUMENT_URI=/items/5", "SCRIPT_NAME=/items/5",
	                   "REQUEST_URI=/items/5", NULL};
	run(p, NULL, 0, &res);
	check_common(&res);
	assert_int_equal(res.status, 405);
	assert_string_equal(detail(&res), "Method Not Allowed");
	char v[128];
	assert_non_null(header(&res, "Allow", v, sizeof(v)));
	assert_non_null(strstr(v, "GET"));
	assert_non_null(strstr(v, "DELETE"));
	response_free(&res);
}

static void test_capture_and_headers(void **state)
{
	(void)state;
	struct response res;
	const char *p[] = {"REQUEST_METHOD=GET", "DOCUMENT_URI=/items/12", "SCRIPT_NAME=/items/12",
	                   "REQUEST_URI=/items/12", NULL};
	run(p, NULL, 0, &res);
	check_common(&res);
	assert_int_equal(res.status, 200);
	char v[64];
	assert_non_null(header(&res, "X-Total-Count", v, sizeof(v)));
	assert_string_equal(v, "1");
	assert_string_equal(seen_route, "/items/:id");
	response_free(&res);

	const char *q[] = {"REQUEST_METHOD=GET", "DOCUMENT_URI=/items/abc",
	                   "SCRIPT_NAME=/items/abc", "REQUEST_URI=/items/abc", NULL};
	run(q, NULL, 0, &res);
	assert_int_equal(res.status, 404);
	response_free(&res);
}

static void test_no_reply_is_500(void **state)
{
	(void)state;
	struct response res;
	const char *p[] = {"REQUEST_METHOD=GET", "DOCUMENT_URI=/silent", "SCRIPT_NAME=/silent",
	                   "REQUEST_URI=/silent", NULL};
	run(p, NULL, 0, &res);
	check_common(&res);
	assert_int_equal(res.status, 500);
	(void)detail(&res);
	response_free(&res);
}

static void test_request_id(void **state)
{
	(void)state;
	struct response res;
	char v[256];
	const char *p[] = {"REQUEST_METHOD=GET",
	                   "DOCUMENT_URI=/nope",
	                   "SCRIPT_NAME=/nope",
	                   "REQUEST_URI=/nope",
	                   "HTTP_X_REQUEST_ID=abc-123_x.y",
	                   NULL};
	run(p, NULL, 0, &res);
	assert_string_equal(header(&res, "X-Request-ID", v, sizeof(v)), "abc-123_x.y");
	response_free(&res);

	/* two requests without one get different generated ids */
	const char *q[] = {"REQUEST_METHOD=GET", "DOCUMENT_URI=/nope", "SCRIPT_NAME=/nope",
	                   "REQUEST_URI=/nope", NULL};
	char first[256];
	run(q, NULL, 0, &res);
	snprintf(first, sizeof(first), "%s", header(&res, "X-Request-ID", v, sizeof(v)));
	response_free(&res);
	run(q, NULL, 0, &res);
	assert_string_not_equal(header(&res, "X-Request-ID", v, sizeof(v)), first);
	response_free(&res);

	/* a hostile id never reaches the headers as sent */
	const char *h[] = {"REQUEST_METHOD=GET",
	                   "DOCUMENT_URI=/nope",
	                   "SCRIPT_NAME=/nope",
	                   "REQUEST_URI=/nope",
	                   "HTTP_X_REQUEST_ID=x\r\nSet-Cookie: a=b",
	                   NULL};
	run(h, NULL, 0, &res);
	check_common(&res);
	assert_null(strstr(res.headers, "Set-Cookie"));
	response_free(&res);
}

static void test_user_auth(void **state)
{
	(void)state;
	struct response res;
	char v[128];
	const char *none[] = {"REQUEST_METHOD=GET", "DOCUMENT_URI=/me", "SCRIPT_NAME=/me",
	                      "REQUEST_URI=/me", NULL};
	run(none, NULL, 0, &res);
	check_common(&res);
	assert_int_equal(res.status, 401);
	assert_string_equal(detail(&res), "Not authenticated");
	assert_non_null(header(&res, "WWW-Authenticate", v, sizeof(v)));
	assert_string_equal(v, "Bearer");
	response_free(&res);

	const char *bad[] = {"REQUEST_METHOD=GET",
	                     "DOCUMENT_URI=/me",
	                     "SCRIPT_NAME=/me",
	                     "REQUEST_URI=/me",
	                     "HTTP_AUTHORIZATION=Bearer not.a.token",
	                     NULL};
	run(bad, NULL, 0, &res);
	assert_int_equal(res.status, 401);
	assert_string_equal(detail(&res), "Could not validate credentials");
	assert_non_null(header(&res, "WWW-Authenticate", v, sizeof(v)));
	response_free(&res);

	/* a service key is not a user token */
	const char *svc_only[] = {"REQUEST_METHOD=GET",
	                          "DOCUMENT_URI=/me",
	                          "SCRIPT_NAME=/me",
	                          "REQUEST_URI=/me",
	                          "HTTP_X_SERVICE_KEY=" SVC_KEY,
	                          NULL};
	run(svc_only, NULL, 0, &res);
	assert_int_equal(res.status, 401);
	response_free(&res);

	char *tok = bearer(7, "alice", 0);
	const char *good[] = {"REQUEST_METHOD=GET",
	                      "DOCUMENT_URI=/me",
	                      "SCRIPT_NAME=/me",
	                      "REQUEST_URI=/me",
	                      tok,
	                      NULL};
	run(good, NULL, 0, &res);
	assert_int_equal(seen.caller, CALLER_USER);
	assert_int_equal(seen.user.uid, 7);
	assert_string_equal(seen.user.sub, "alice");
	assert_int_equal(res.status, 500); /* h_silent never replies */
	response_free(&res);
	free(tok);
}

static void test_admin_auth(void **state)
{
	(void)state;
	struct response res;
	char *user = bearer(7, "alice", 0);
	char *admin = bearer(1, "root", 1);
	const char *u[] = {"REQUEST_METHOD=GET",
	                   "DOCUMENT_URI=/admin",
	                   "SCRIPT_NAME=/admin",
	                   "REQUEST_URI=/admin",
	                   user,
	                   NULL};
	run(u, NULL, 0, &res);
	assert_int_equal(res.status, 403);
	assert_string_equal(detail(&res), "Not enough permissions");
	response_free(&res);
	const char *a[] = {"REQUEST_METHOD=GET",
	                   "DOCUMENT_URI=/admin",
	                   "SCRIPT_NAME=/admin",
	                   "REQUEST_URI=/admin",
	                   admin,
	                   NULL};
	run(a, NULL, 0, &res);
	assert_int_equal(res.status, 201);
	assert_int_equal(seen.caller, CALLER_USER);
	assert_int_equal(seen.user.admin, 1);
	response_free(&res);
	free(user);
	free(admin);
}

static void test_service_auth(void **state)
{
	(void)state;
	struct response res;
	const char *good[] = {"REQUEST_METHOD=GET",          "DOCUMENT_URI=/internal/x",
	                      "SCRIPT_NAME=/internal/x",     "REQUEST_URI=/internal/x",
	                      "HTTP_X_SERVICE_KEY=" SVC_KEY, NULL};
	run(good, NULL, 0, &res);
	assert_int_equal(res.status, 201);
	assert_int_equal(seen.caller, CALLER_SERVICE);
	response_free(&res);

	const char *wrong[] = {"REQUEST_METHOD=GET",         "DOCUMENT_URI=/internal/x",
	                       "SCRIPT_NAME=/internal/x",    "REQUEST_URI=/internal/x",
	                       "HTTP_X_SERVICE_KEY=" SECRET, NULL};
	run(wrong, NULL, 0, &res);
	assert_true(res.status == 401 || res.status == 403);
	response_free(&res);

	/* a user token, even an admin's, is not the service credential */
	char *admin = bearer(1, "root", 1);
	const char *a[] = {"REQUEST_METHOD=GET",
	                   "DOCUMENT_URI=/internal/x",
	                   "SCRIPT_NAME=/internal/x",
	                   "REQUEST_URI=/internal/x",
	                   admin,
	                   NULL};
	run(a, NULL, 0, &res);
	assert_true(res.status == 401 || res.status == 403);
	response_free(&res);

	/* either flag: the service key or an admin token */
	const char *e1[] = {"REQUEST_METHOD=GET",          "DOCUMENT_URI=/either",
	                    "SCRIPT_NAME=/either",         "REQUEST_URI=/either",
	                    "HTTP_X_SERVICE_KEY=" SVC_KEY, NULL};
	run(e1, NULL, 0, &res);
	assert_int_equal(res.status, 201);
	assert_int_equal(seen.caller, CALLER_SERVICE);
	response_free(&res);
	const char *e2[] = {"REQUEST_METHOD=GET",
	                    "DOCUMENT_URI=/either",
	                    "SCRIPT_NAME=/either",
	                    "REQUEST_URI=/either",
	                    admin,
	                    NULL};
	run(e2, NULL, 0, &res);
	assert_int_equal(res.status, 201);
	assert_int_equal(seen.caller, CALLER_USER);
	response_free(&res);
	free(admin);
}

static void test_body_too_large(void **state)
{
	(void)state;
	struct response res;
	char *body = malloc(2048);
	memset(body, 'x', 2048);
	const char *p[] = {"REQUEST_METHOD=POST",
	                   "DOCUMENT_URI=/echo",
	                   "SCRIPT_NAME=/echo",
	                   "REQUEST_URI=/echo",
	                   "CONTENT_TYPE=application/json",
	                   "CONTENT_LENGTH=2048",
	                   NULL};
	memset(&seen, 0, sizeof(seen));
	run(p, body, 2048, &res);
	check_common(&res);
	assert_int_equal(res.status, 413);
	(void)detail(&res);
	assert_null(seen.method); /* the handler never ran */
	response_free(&res);
	free(body);
}

static void test_body_at_limit(void **state)
{
	(void)state;
	struct response res;
	char *body = malloc(1024);
	memset(body, ' ', 1024);
	body[0] = '{';
	body[1] = '}';
	const char *p[] = {"REQUEST_METHOD=POST",
	                   "DOCUMENT_URI=/echo",
	                   "SCRIPT_NAME=/echo",
	                   "REQUEST_URI=/echo",
	                   "CONTENT_TYPE=application/json",
	                   "CONTENT_LENGTH=1024",
	                   NULL};
	run(p, body, 1024, &res);
	assert_int_equal(res.status, 201);
	assert_int_equal(seen.body_len, 1024);
	response_free(&res);
	free(body);
}

static void test_bad_content_length(void **state)
{
	(void)state;
	struct response res;
	const char *bad[] = {"CONTENT_LENGTH=abc", "CONTENT_LENGTH=-1", "CONTENT_LENGTH=12x",
	                     "CONTENT_LENGTH=99999999999999999999999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *p[] = {"REQUEST_METHOD=POST",
		                   "DOCUMENT_URI=/echo",
		                   "SCRIPT_NAME=/echo",
		                   "REQUEST_URI=/echo",
		                   bad[i],
		                   NULL};
		run(p, "{}", 2, &res);
		check_common(&res);
		if (res.status < 400 || res.status > 499)
			fail_msg("%s: status %d", bad[i], res.status);
		response_free(&res);
	}
	/* fewer bytes than announced */
	const char *p[] = {"REQUEST_METHOD=POST", "DOCUMENT_URI=/echo", "SCRIPT_NAME=/echo",
	                   "REQUEST_URI=/echo",   "CONTENT_LENGTH=100", NULL};
	run(p, "{}", 2, &res);
	check_common(&res);
	assert_true(res.status >= 400 && res.status <= 499);
	response_free(&res);
}

static void test_health_unreachable(void **state)
{
	(void)state;
	struct response res;
	const char *p[] = {"REQUEST_METHOD=GET", "DOCUMENT_URI=/health", "SCRIPT_NAME=/health",
	                   "REQUEST_URI=/health", NULL};
	run(p, NULL, 0, &res);
	check_common(&res);
	assert_int_equal(res.status, 503);
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
	response_free(&res);
}

static void test_metrics_endpoint(void **state)
{
	(void)state;
	struct response res;
	const char *p[] = {"REQUEST_METHOD=GET", "DOCUMENT_URI=/items/3", "SCRIPT_NAME=/items/3",
	                   "REQUEST_URI=/items/3", NULL};
	uint64_t before = metrics_get(w.metrics, "http_requests_total",
	                              "method=\"GET\",route=\"/items/:id\",status=\"200\"");
	run(p, NULL, 0, &res);
	response_free(&res);
	assert_int_equal(metrics_get(w.metrics, "http_requests_total",
	                             "method=\"GET\",route=\"/items/:id\",status=\"200\""),
	                 before + 1);
	const char *m[] = {"REQUEST_METHOD=GET", "DOCUMENT_URI=/metrics", "SCRIPT_NAME=/metrics",
	                   "REQUEST_URI=/metrics", NULL};
	run(m, NULL, 0, &res);
	check_common(&res);
	assert_int_equal(res.status, 200);
	char v[128];
	assert_non_null(header(&res, "Content-Type", v, sizeof(v)));
	assert_non_null(strstr(v, "text/plain"));
	assert_non_null(strstr(res.body, "# TYPE http_requests_total counter"));
	assert_non_null(
	        strstr(res.body, "http_requests_total{method=\"GET\",route=\"/items/:id\","));
	/* the route label is the pattern, never the raw path */
	assert_null(strstr(res.body, "route=\"/items/3\""));
	response_free(&res);
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
	        cmocka_unit_test(test_body_too_large),
	        cmocka_unit_test(test_body_at_limit),
	        cmocka_unit_test(test_bad_content_length),
	        cmocka_unit_test(test_health_unreachable),
	        cmocka_unit_test(test_metrics_endpoint),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
