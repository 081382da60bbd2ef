/* serve.c - the dispatcher. One FastCGI request becomes a struct req,
 * goes through the route table and the route's auth flags to its handler,
 * and the response, the access log line and the metrics are written here,
 * once. Handlers never touch FastCGI; this is the only module that does
 * for requests. /health and /metrics are built in for every pool. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "db.h"
#include "field.h"
#include "kv.h"
#include "log.h"
#include "mem.h"
#include "metrics.h"
#include "reply.h"
#include "req.h"
#include "serve.h"
#include "worker.h"

#define BUSY_ROUTE_MAX 96

static const char *current_route = "";

static void serve_health(struct req *r);
static void serve_metrics(struct req *r);

static const struct route builtin_routes[] = {
        {"GET", "/health", serve_health, 0},
        {"GET", "/metrics", serve_metrics, 0},
        {NULL, NULL, NULL, 0},
};

const char *serve_current_route(void)
{
	return current_route;
}

static const char *param(FCGX_ParamArray envp, const char *name)
{
	const char *v = FCGX_GetParam(name, envp);
	return v ? v : "";
}

static int id_ok(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-");
	return n > 0 && n < REQ_ID_MAX && s[n] == '\0';
}

static void set_request_id(struct req *r, FCGX_ParamArray envp)
{
	static const char hex[] = "0123456789abcdef";
	const char *id = param(envp, "REQUEST_ID");
	unsigned char raw[16];

	if (!id_ok(id))
		id = param(envp, "HTTP_X_REQUEST_ID");
	if (id_ok(id)) {
		snprintf(r->request_id, sizeof(r->request_id), "%s", id);
		return;
	}
	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		memset(raw, 0, sizeof(raw));
	for (size_t i = 0; i < sizeof(raw); i++) {
		r->request_id[2 * i] = hex[raw[i] >> 4];
		r->request_id[2 * i + 1] = hex[raw[i] & 15];
	}
	r->request_id[2 * sizeof(raw)] = '\0';
}

static void read_params(struct req *r, FCGX_ParamArray envp)
{
	r->method = param(envp, "REQUEST_METHOD");
	r->path = param(envp, "DOCUMENT_URI");
	if (*r->path == '\0')
		r->path = param(envp, "SCRIPT_NAME");
	r->query = param(envp, "QUERY_STRING");
	r->content_type = param(envp, "CONTENT_TYPE");
	r->authorization = param(envp, "HTTP_AUTHORIZATION");
	r->service_key = param(envp, "HTTP_X_SERVICE_KEY");
	r->idempotency_key = param(envp, "HTTP_IDEMPOTENCY_KEY");
	set_request_id(r, envp);
}

/* Read the body into r; 0, or -1 after replying 413 or 400. */
static int read_body(struct req *r, FCGX_Request *fr)
{
	const char *cl = param(fr->envp, "CONTENT_LENGTH");
	int64_t len = 0;

	if (*cl && field_parse_int64(cl, 0, INT64_MAX, &len) < 0) {
		reply_error(r, 400, "Invalid Content-Length");
		return -1;
	}
	if (len > r->w->conf->body_max) {
		reply_error(r, 413, "Request body too large");
		return -1;
	}
	r->body = xmalloc((size_t)len + 1);
	size_t got = 0;
	while (got < (size_t)len) {
		int n = FCGX_GetStr(r->body + got, (int)((size_t)len - got), fr->in);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	r->body[got] = '\0';
	r->body_len = got;
	if (got < (size_t)len) {
		reply_error(r, 400, "Incomplete request body");
		return -1;
	}
	return 0;
}

static void unauthorized(struct req *r, const char *detail)
{
	reply_header(r, "WWW-Authenticate", "Bearer");
	reply_error(r, 401, detail);
}

/* Check the route's flags against the caller; 0, or -1 after replying. */
static int authorize(struct req *r, int flags)
{
	const struct conf *c = r->w->conf;

	if (flags == 0)
		return 0;
	if ((flags & ROUTE_SERVICE) && *r->service_key) {
		if (!auth_equal(r->service_key, strlen(r->service_key), c->service_key,
		                strlen(c->service_key))) {
			reply_error(r, 401, "Invalid service credential");
			return -1;
		}
		r->caller = CALLER_SERVICE;
		return 0;
	}
	const char *token = auth_bearer(r->authorization);
	if (token == NULL) {
		unauthorized(r, "Not authenticated");
		return -1;
	}
	if (auth_token_verify(c->secret_key, token, time(NULL), &r->user) < 0) {
		unauthorized(r, "Could not validate credentials");
		return -1;
	}
	r->caller = CALLER_USER;
	if ((flags & ROUTE_USER) || ((flags & ROUTE_ADMIN) && r->user.admin))
		return 0;
	reply_error(r, 403, "Not enough permissions");
	return -1;
}

static void set_busy(struct req *r, const char *route)
{
	current_route = route;
	if (r->w->busy_route == NULL)
		return;
	if (*route)
		snprintf(r->w->busy_route, BUSY_ROUTE_MAX, "%s %s", r->method, route);
	else
		r->w->busy_route[0] = '\0';
}

static void dispatch(struct req *r)
{
	const struct route *tables[] = {r->w->svc->routes, builtin_routes};
	enum route_result best = ROUTE_NOT_FOUND;
	struct route_match m405;

	for (size_t i = 0; i < 2; i++) {
		enum route_result res = route_find(tables[i], r->method, r->path, &r->match);
		if (res == ROUTE_FOUND) {
			set_busy(r, r->match.route->pattern);
			if (authorize(r, r->match.route->flags) == 0)
				r->match.route->fn(r);
			return;
		}
		if (res == ROUTE_BAD_METHOD && best == ROUTE_NOT_FOUND) {
			best = res;
			m405 = r->match;
		}
	}
	if (best == ROUTE_BAD_METHOD) {
		reply_header(r, "Allow", m405.allow);
		reply_error(r, 405, "Method Not Allowed");
		return;
	}
	reply_error(r, 404, "Not Found");
}

static void send_response(struct req *r, FCGX_Stream *out)
{
	struct buf h;

	buf_init(&h);
	buf_printf(&h, "Status: %d %s\r\n", r->status, reply_reason(r->status));
	if (r->out_type)
		buf_printf(&h, "Content-Type: %s\r\n", r->out_type);
	buf_printf(&h, "Content-Length: %zu\r\n", r->out.len);
	buf_printf(&h, "X-Request-ID: %s\r\n", r->request_id);
	buf_adds(&h, "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n");
	buf_add(&h, buf_str(&r->headers), r->headers.len);
	buf_adds(&h, "\r\n");
	FCGX_PutStr(h.data, (int)h.len, out);
	if (r->out.len)
		FCGX_PutStr(r->out.data, (int)r->out.len, out);
	buf_release(&h);
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void account(struct req *r, double secs)
{
	const char *route = r->match.route ? r->match.route->pattern : "unmatched";
	char status[8], ms[32];

	metrics_http(r->w->metrics, r->method, route, r->status, secs);
	snprintf(status, sizeof(status), "%d", r->status);
	snprintf(ms, sizeof(ms), "%.3f", secs * 1000);
	log_write(r->status >= 500 ? LOG_LVL_WARN : LOG_LVL_INFO, "request", "method", r->method,
	          "path", r->path, "route", route, "status", status, "ms", ms, (const char *)NULL);
}

void serve_request(struct worker *w, FCGX_Request *fr)
{
	struct req r;
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	req_init(&r, w);
	read_params(&r, fr->envp);
	log_set_request_id(r.request_id);
	if (read_body(&r, fr) == 0)
		dispatch(&r);
	if (r.status == 0)
		reply_error(&r, 500, "Internal server error");
	send_response(&r, fr->out);
	account(&r, seconds_since(&t0));
	set_busy(&r, "");
	log_set_request_id(NULL);
	req_release(&r);
}

static const char *check_text(int ok)
{
	return ok ? "ok" : "unavailable";
}

static void serve_health(struct req *r)
{
	int db_ok = db_ping(r->w->db) == 0;
	int kv_ok = kv_ping(r->w->kv) == 0;
	struct json_object *obj = json_object_new_object();
	struct json_object *checks = json_object_new_object();

	json_object_object_add(checks, "database", json_object_new_string(check_text(db_ok)));
	json_object_object_add(checks, "redis", json_object_new_string(check_text(kv_ok)));
	json_object_object_add(obj, "status",
	                       json_object_new_string(db_ok && kv_ok ? "healthy" : "unhealthy"));
	json_object_object_add(obj, "service", json_object_new_string(r->w->svc->health_name));
	json_object_object_add(obj, "checks", checks);
	reply_json(r, db_ok && kv_ok ? 200 : 503, obj);
}

static void serve_metrics(struct req *r)
{
	struct buf b;

	buf_init(&b);
	metrics_render(r->w->metrics, &b);
	reply_raw(r, 200, "text/plain; version=0.0.4", buf_str(&b), b.len);
	buf_release(&b);
}
