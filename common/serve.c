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

#include "cors.h"
#include "db.h"
#include "etag.h"
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
	r->origin = param(envp, "HTTP_ORIGIN");
	r->cors_method = param(envp, "HTTP_ACCESS_CONTROL_REQUEST_METHOD");
	r->if_none_match = param(envp, "HTTP_IF_NONE_MATCH");
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

/* The caller's X-Service-Key is ours, or the one a rotation also accepts.
 * Both are compared, so the time taken does not tell which one matched. */
static int service_key_ok(const struct conf *c, const char *key)
{
	size_t n = strlen(key);
	int ok = auth_equal(key, n, c->service_key, strlen(c->service_key));

	if (c->service_key_accepted)
		ok |= auth_equal(key, n, c->service_key_accepted, strlen(c->service_key_accepted));
	return ok;
}

/* Per child: the last answers of the service's user_active hook. A
 * token stays valid for its whole lifetime by signature alone; this is
 * what ends it early when its user is deleted or deactivated. */
#define USER_CHECK_SLOTS 64
struct user_check {
	int64_t uid;
	time_t until;
	int active;
};
static struct user_check user_checks[USER_CHECK_SLOTS];

/* 1 when the token's user may go on (active, or the service cannot
 * tell), 0 when the user is gone or deactivated. */
static int user_still_active(struct req *r, time_t now)
{
	const struct service *svc = r->w->svc;
	int64_t uid = r->user.uid;

	if (svc->user_active == NULL)
		return 1;
	struct user_check *slot = &user_checks[(uint64_t)uid % USER_CHECK_SLOTS];
	if (slot->uid == uid && now < slot->until)
		return slot->active;
	int active = svc->user_active(r->w, uid, r->request_id);
	if (active < 0) {
		/* not cached: the next request asks again */
		log_warn("user check unavailable: token accepted", "uid", r->user.sub);
		return 1;
	}
	slot->uid = uid;
	slot->until = now + USER_CHECK_SECONDS;
	slot->active = active;
	return active;
}

/* Check the route's flags against the caller; 0, or -1 after replying. */
static int authorize(struct req *r, int flags)
{
	const struct conf *c = r->w->conf;

	flags &= ROUTE_AUTH_FLAGS;
	if (flags == 0)
		return 0;
	if ((flags & ROUTE_SERVICE) && *r->service_key) {
		if (!service_key_ok(c, r->service_key)) {
			/* RFC 9110: every 401 names a scheme, this one too */
			unauthorized(r, "Invalid service credential");
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
	time_t now = time(NULL);
	if (auth_token_verify(c->secret_key, token, now, &r->user) < 0 &&
	    (c->secret_key_accepted == NULL ||
	     auth_token_verify(c->secret_key_accepted, token, now, &r->user) < 0)) {
		unauthorized(r, "Could not validate credentials");
		return -1;
	}
	if (!user_still_active(r, now)) {
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

static int cors_origin_ok(const struct req *r)
{
	return cors_allowed(r->w->conf->cors_origins, r->origin);
}

/* A browser asks whether it may send the request it describes: 204 with
 * the methods the path takes (the browser decides), 404 for no such path.
 * No auth: a preflight carries no credentials. */
static void preflight(struct req *r, const struct route *const *tables, size_t n)
{
	struct route_match m;

	for (size_t i = 0; i < n; i++)
		if (route_find(tables[i], "OPTIONS", r->path, &m) == ROUTE_BAD_METHOD) {
			reply_header(r, "Access-Control-Allow-Methods", m.allow);
			reply_header(r, "Access-Control-Allow-Headers", CORS_ALLOW_HEADERS);
			reply_header(r, "Access-Control-Max-Age", CORS_MAX_AGE);
			reply_empty(r, 204);
			return;
		}
	reply_error(r, 404, "Not Found");
}

static void dispatch(struct req *r)
{
	const struct route *tables[] = {r->w->svc->routes, builtin_routes};
	enum route_result best = ROUTE_NOT_FOUND;
	struct route_match m405;

	if (strcmp(r->method, "OPTIONS") == 0 && *r->cors_method && cors_origin_ok(r)) {
		preflight(r, tables, 2);
		return;
	}
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

static int tagged_route(const struct req *r)
{
	return r->match.route && (r->match.route->flags & ROUTE_ETAG);
}

/* A 200 of a route that opted in gets the ETag of its body; when the
 * caller already has that body (If-None-Match), 304 without it. */
static void tag(struct req *r)
{
	char etag[ETAG_MAX];

	if (!tagged_route(r) || r->status != 200)
		return;
	etag_of(r->out.data, r->out.len, etag);
	reply_header(r, "ETag", etag);
	if (etag_matches(r->if_none_match, etag))
		reply_empty(r, 304);
}

/* An allowed origin may read the answer and the headers it needs. Vary
 * always (when CORS is on): the answer depends on the Origin sent. */
static void cors(struct req *r)
{
	if (r->w->conf->cors_origins == NULL)
		return;
	reply_header(r, "Vary", "Origin");
	if (!cors_origin_ok(r))
		return;
	reply_header(r, "Access-Control-Allow-Origin", r->origin);
	reply_header(r, "Access-Control-Expose-Headers", CORS_EXPOSE_HEADERS);
}

static void send_response(struct req *r, FCGX_Stream *out)
{
	/* HEAD: GET's status and headers, Content-Length included, no body */
	int body = strcmp(r->method, "HEAD") != 0 && r->status != 304;
	struct buf h;

	buf_init(&h);
	buf_printf(&h, "Status: %d %s\r\n", r->status, reply_reason(r->status));
	if (r->out_type)
		buf_printf(&h, "Content-Type: %s\r\n", r->out_type);
	if (r->status != 304)
		buf_printf(&h, "Content-Length: %zu\r\n", r->out.len);
	buf_printf(&h, "X-Request-ID: %s\r\n", r->request_id);
	/* a tagged answer may be kept, but is checked (If-None-Match) first */
	buf_printf(&h, "Cache-Control: %s\r\nX-Content-Type-Options: nosniff\r\n",
	           tagged_route(r) ? "no-cache" : "no-store");
	buf_add(&h, buf_str(&r->headers), r->headers.len);
	buf_adds(&h, "\r\n");
	FCGX_PutStr(h.data, (int)h.len, out);
	if (body && r->out.len)
		FCGX_PutStr(r->out.data, (int)r->out.len, out);
	buf_release(&h);
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* The method as a metrics label: a standard one, else "other", so a client
 * that invents method names cannot fill the pool's finite series slots
 * (the log line keeps the real method). */
static const char *method_label(const char *method)
{
	static const char *const known[] = {"GET",    "HEAD",    "POST",  "PUT",
	                                    "DELETE", "OPTIONS", "PATCH", NULL};

	for (int i = 0; known[i]; i++)
		if (strcmp(method, known[i]) == 0)
			return known[i];
	return "other";
}

static void account(struct req *r, double secs)
{
	const char *route = r->match.route ? r->match.route->pattern : "unmatched";
	char status[8], ms[32];

	metrics_http(r->w->metrics, method_label(r->method), route, r->status, secs);
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
	tag(&r);
	cors(&r);
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
	/* A database that cannot answer costs the service's gauges, never
	 * the scrape: the counters above are what tell the outage. */
	if (r->w->svc->gauges) {
		int ok = r->w->svc->gauges(r->w, &b) == 0;
		metrics_gauge(&b, "metrics_gauges_ok",
		              "1 when the service's gauges were read from its database", ok);
	}
	reply_raw(r, 200, "text/plain; version=0.0.4", buf_str(&b), b.len);
	buf_release(&b);
}
