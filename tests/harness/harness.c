/* harness.c - in-memory FastCGI streams around serve_request, a worker
 * for tests, and the current response the handler tests look at. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "auth.h"
#include "buf.h"
#include "db.h"
#include "harness.h"
#include "kv.h"
#include "log.h"
#include "metrics.h"
#include "serve.h"

static const char *const base_env[][2] = {
        {"DATABASE_URL", "postgresql://x:pw@127.0.0.1:1/db"},
        {"REDIS_URL", "redis://127.0.0.1:1/0"},
        {"SECRET_KEY", HARNESS_SECRET},
        {"SERVICE_KEY", HARNESS_SVC_KEY},
        {"BODY_MAX", "1024"},
        {"DB_TIMEOUT_MS", "500"},
        {"SERVICE_TIMEOUT_MS", "200"},
};
static const char *const *extra_env;
static char *tokens[16]; /* of harness_token, until harness_worker_release */
static int ntokens;

static const char *env_get(const char *name)
{
	size_t n = strlen(name);

	for (int i = 0; extra_env && extra_env[i]; i++)
		if (strncmp(extra_env[i], name, n) == 0 && extra_env[i][n] == '=')
			return extra_env[i] + n + 1;
	for (size_t i = 0; i < sizeof(base_env) / sizeof(base_env[0]); i++)
		if (strcmp(base_env[i][0], name) == 0)
			return base_env[i][1];
	return NULL;
}

void harness_worker_init(struct worker *w, struct conf *c, const struct service *svc,
                         const char *const *extra)
{
	struct buf err;

	buf_init(&err);
	log_init(svc->name, LOG_LVL_DEBUG);
	FILE *f = tmpfile();
	assert_non_null(f);
	log_set_stream(f);
	extra_env = extra;
	if (conf_load(c, svc, env_get, &err) != 0)
		fail_msg("settings: %s", buf_str(&err));
	extra_env = NULL;
	buf_release(&err);
	memset(w, 0, sizeof(*w));
	w->conf = c;
	w->svc = svc;
	w->settings = svc->settings_data;
	w->db = db_new(c->database_url, 500);
	w->kv = kv_new(c->redis_url, 200);
	w->metrics = metrics_new(256);
	assert_non_null(w->db);
	assert_non_null(w->kv);
	assert_non_null(w->metrics);
}

void harness_worker_release(struct worker *w, struct conf *c, const struct service *svc)
{
	db_free(w->db);
	kv_free(w->kv);
	metrics_free(w->metrics);
	conf_release(c, svc);
	memset(w, 0, sizeof(*w));
	while (ntokens > 0)
		free(tokens[--ntokens]);
}

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

static void sink_stream(FCGX_Stream *s, struct sink *k)
{
	memset(k, 0, sizeof(*k));
	buf_init(&k->all);
	memset(s, 0, sizeof(*s));
	s->wrNext = s->rdNext = k->chunk;
	s->stop = k->chunk + sizeof(k->chunk);
	s->emptyBuffProc = sink_empty;
	s->data = k;
}

static void parse_response(const struct buf *all_buf, struct harness_response *res)
{
	const char *all = buf_str(all_buf);
	const char *sep = strstr(all, "\r\n\r\n");

	if (sep == NULL)
		fail_msg("no end of headers in response: %s", all);
	size_t hl = (size_t)(sep - all) + 2;
	assert_true(hl < sizeof(res->headers));
	memcpy(res->headers, all, hl);
	res->headers[hl] = '\0';
	res->body_len = all_buf->len - hl - 2;
	res->body = malloc(res->body_len + 1);
	memcpy(res->body, sep + 4, res->body_len);
	res->body[res->body_len] = '\0';
	const char *st = strstr(res->headers, "Status: ");
	assert_non_null(st);
	assert_true(st == res->headers || st[-1] == '\n');
	res->status = atoi(st + 8);
	res->json = json_tokener_parse(res->body);
}

void harness_run(struct worker *w, const char *const *params, const char *body, size_t body_len,
                 struct harness_response *res)
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
	sink_stream(&out, &out_sink);
	sink_stream(&err, &err_sink);
	memset(&fr, 0, sizeof(fr));
	fr.in = &in;
	fr.out = &out;
	fr.err = &err;
	fr.envp = envp;
	fr.ipcFd = -1;
	serve_request(w, &fr);
	sink_empty(&out, 1);
	sink_empty(&err, 1);
	memset(res, 0, sizeof(*res));
	parse_response(&out_sink.all, res);
	buf_release(&out_sink.all);
	buf_release(&err_sink.all);
}

void harness_request(struct worker *w, const char *method, const char *path, const char *auth,
                     int service, const char *json, struct harness_response *res)
{
	struct buf p[7];
	const char *params[8];
	const char *q = strchr(path, '?');
	int n = 0;

	for (int i = 0; i < 7; i++)
		buf_init(&p[i]);
	buf_printf(&p[n++], "REQUEST_METHOD=%s", method);
	buf_printf(&p[n++], "DOCUMENT_URI=%.*s", (int)(q ? (size_t)(q - path) : strlen(path)),
	           path);
	buf_printf(&p[n++], "QUERY_STRING=%s", q ? q + 1 : "");
	if (auth)
		buf_printf(&p[n++], "HTTP_AUTHORIZATION=%s", auth);
	if (service)
		buf_printf(&p[n++], "HTTP_X_SERVICE_KEY=%s", HARNESS_SVC_KEY);
	if (json) {
		buf_adds(&p[n++], "CONTENT_TYPE=application/json");
		buf_printf(&p[n++], "CONTENT_LENGTH=%zu", strlen(json));
	}
	for (int i = 0; i < n; i++)
		params[i] = buf_str(&p[i]);
	params[n] = NULL;
	harness_run(w, params, json, json ? strlen(json) : 0, res);
	for (int i = 0; i < 7; i++)
		buf_release(&p[i]);
}

void harness_response_free(struct harness_response *res)
{
	json_object_put(res->json);
	free(res->body);
	memset(res, 0, sizeof(*res));
}

const char *harness_header(const struct harness_response *res, const char *name, char *out,
                           size_t outlen)
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

static struct json_object *member(const struct harness_response *res, const char *name)
{
	struct json_object *v = NULL;

	if (res->json == NULL || !json_object_object_get_ex(res->json, name, &v))
		fail_msg("no %s in body: %s", name, res->body);
	return v;
}

const char *harness_detail(const struct harness_response *res)
{
	return json_object_get_string(member(res, "detail"));
}

int64_t harness_int(const struct harness_response *res, const char *name)
{
	return json_object_get_int64(member(res, name));
}

const char *harness_str(const struct harness_response *res, const char *name)
{
	return json_object_get_string(member(res, name));
}

char *harness_bearer(int64_t uid, const char *sub, int admin)
{
	struct auth_claims c;

	memset(&c, 0, sizeof(c));
	c.uid = uid;
	snprintf(c.sub, sizeof(c.sub), "%s", sub);
	c.admin = admin;
	char *t = auth_token_issue(HARNESS_SECRET, &c, time(NULL), 600);
	assert_non_null(t);
	char *h = malloc(strlen(t) + 16);
	sprintf(h, "Bearer %s", t);
	free(t);
	return h;
}

const char *harness_token(int64_t uid, const char *sub, int admin)
{
	assert_true(ntokens < (int)(sizeof(tokens) / sizeof(tokens[0])));
	tokens[ntokens] = harness_bearer(uid, sub, admin);
	return tokens[ntokens++];
}

FILE *harness_log_quiet(enum log_level min)
{
	FILE *f = tmpfile();

	assert_non_null(f);
	log_init("unit", min);
	log_set_stream(f);
	return f;
}

int harness_quiet(void **state)
{
	(void)state;
	harness_log_quiet(LOG_LVL_DEBUG);
	return 0;
}

void harness_rule(const char *name, int (*rule)(const char *), int want, const char *const *list)
{
	for (size_t i = 0; list[i]; i++)
		if (rule(list[i]) != want)
			fail_msg("%s('%s') is %d, want %d", name, list[i], rule(list[i]), want);
}

char *harness_pg_url(const char *file)
{
	char line[1024];
	FILE *f = file ? fopen(file, "r") : NULL;

	if (f == NULL)
		fail_msg("no database URL in '%s': run it with ctest (fixture unit_pg, "
		         "tests/unit/pg.sh)",
		         file ? file : "(no file given)");
	int got = fgets(line, sizeof(line), f) != NULL;
	fclose(f);
	if (!got)
		fail_msg("'%s' is empty", file);
	line[strcspn(line, "\r\n")] = '\0';
	char *url = strdup(line);
	assert_non_null(url);
	return url;
}

struct db *harness_pg_connect(const char *file, int timeout_ms, const char *dir)
{
	char *url = harness_pg_url(file);
	struct db *db = db_new(url, timeout_ms);

	free(url);
	assert_non_null(db);
	if (dir != NULL && db_migrate(db, dir) < 0)
		fail_msg("the migrations of '%s' do not apply", dir);
	return db;
}

int64_t harness_pg_count(struct db *db, const char *sql)
{
	PGresult *res = db_exec(db, sql, 0, NULL);

	if (res == NULL)
		fail_msg("'%s' failed", sql);
	int64_t n = db_int(res, 0, 0);
	PQclear(res);
	return n;
}

struct harness_response harness_res;

void harness_call(struct worker *w, const char *method, const char *path, const char *auth,
                  const char *json)
{
	harness_response_free(&harness_res);
	harness_request(w, method, path, auth, 0, json, &harness_res);
}

void harness_call_service(struct worker *w, const char *method, const char *path, const char *json)
{
	harness_response_free(&harness_res);
	harness_request(w, method, path, NULL, 1, json, &harness_res);
}

void harness_call_run(struct worker *w, const char *const *params, const char *body,
                      size_t body_len)
{
	harness_response_free(&harness_res);
	harness_run(w, params, body, body_len, &harness_res);
}

void harness_expect_error(int status, const char *detail)
{
	assert_int_equal(harness_res.status, status);
	assert_string_equal(harness_detail(&harness_res), detail);
}

/* 1 when the validation error err is on field with type (NULL: any). */
static int error_is(struct json_object *err, const char *field, const char *type)
{
	struct json_object *loc, *t;
	const char *at;

	if (!json_object_object_get_ex(err, "loc", &loc) ||
	    !json_object_object_get_ex(err, "type", &t))
		return 0;
	at = json_object_get_string(json_object_array_get_idx(loc, 1));
	return at && strcmp(at, field) == 0 &&
	       (type == NULL || strcmp(json_object_get_string(t), type) == 0);
}

const char *harness_invalid(const char *field, const char *type)
{
	struct json_object *list, *msg;

	assert_int_equal(harness_res.status, 422);
	assert_true(json_object_object_get_ex(harness_res.json, "detail", &list));
	assert_true(json_object_is_type(list, json_type_array));
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		struct json_object *err = json_object_array_get_idx(list, i);
		if (error_is(err, field, type) && json_object_object_get_ex(err, "msg", &msg))
			return json_object_get_string(msg);
	}
	return NULL;
}

const char *harness_res_header(const char *name)
{
	static char value[256];

	return harness_header(&harness_res, name, value, sizeof(value));
}

struct json_object *harness_item(size_t i, const char *name)
{
	struct json_object *v = NULL;

	assert_true(json_object_is_type(harness_res.json, json_type_array));
	assert_true(i < json_object_array_length(harness_res.json));
	assert_true(json_object_object_get_ex(json_object_array_get_idx(harness_res.json, i), name,
	                                      &v));
	return v;
}

int harness_done(void **state)
{
	(void)state;
	harness_response_free(&harness_res);
	return 0;
}
