/* harness.h - serve one request through common/serve.c with in-memory
 * FastCGI streams (no socket, no nginx), for C tests of the dispatcher and
 * of each service's handlers. A test builds a worker whose database and
 * Redis are unreachable (a handler test links a fake store instead of
 * store.c), serves requests and looks at status, headers and JSON. */
#ifndef FO_HARNESS_H
#define FO_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "conf.h"
#include "log.h"
#include "worker.h"

struct db;
struct json_object;

#define HARNESS_SECRET  "0123456789abcdef0123456789abcdefS"
#define HARNESS_SVC_KEY "fedcba9876543210fedcba9876543210K"

struct harness_response {
	int status;
	char headers[4096];
	char *body;
	size_t body_len;
	struct json_object *json; /* body parsed when JSON, else NULL */
};

/* Fill w (and c) for svc: SECRET_KEY/SERVICE_KEY above, unreachable
 * PostgreSQL and Redis, BODY_MAX 1024, metrics, logs to a temporary
 * file; extra is a NULL-terminated "NAME=value" list of further settings
 * (may be NULL). Fails the test when the settings do not load. */
void harness_worker_init(struct worker *w, struct conf *c, const struct service *svc,
                         const char *const *extra);
/* Release what harness_worker_init took, and every harness_token. */
void harness_worker_release(struct worker *w, struct conf *c, const struct service *svc);

/* Serve one request; params is a NULL-terminated "NAME=value" list of
 * FastCGI params. Release res with harness_response_free. */
void harness_run(struct worker *w, const char *const *params, const char *body, size_t body_len,
                 struct harness_response *res);
/* The common case: method, path (may carry "?query"), an Authorization
 * value (NULL: none; see harness_bearer) or, with service set, the
 * service credential, and a JSON body (NULL: none). */
void harness_request(struct worker *w, const char *method, const char *path, const char *auth,
                     int service, const char *json, struct harness_response *res);
void harness_response_free(struct harness_response *res);

/* The value of header name into out, or NULL when absent. */
const char *harness_header(const struct harness_response *res, const char *name, char *out,
                           size_t outlen);
/* The "detail" string of an error body (fails the test when absent). */
const char *harness_detail(const struct harness_response *res);
/* Member name of the JSON body as an int64 / string (fails when absent). */
int64_t harness_int(const struct harness_response *res, const char *name);
const char *harness_str(const struct harness_response *res, const char *name);
/* "Bearer <token>" for uid (malloc'd, to free), signed with HARNESS_SECRET. */
char *harness_bearer(int64_t uid, const char *sub, int admin);
/* harness_bearer kept by the harness (at most 16) until
 * harness_worker_release, for a test group's users. */
const char *harness_token(int64_t uid, const char *sub, int admin);

/* ---- one request at a time: the current response ----------------------
 * What the handler tests share: each serves a request, then looks at its
 * answer. The harness keeps that answer in harness_res (read it, do not
 * free it) until the next call or harness_done. */
extern struct harness_response harness_res;

/* Serve a request as harness_request does, without the service
 * credential, into harness_res (the previous answer is freed). */
void harness_call(struct worker *w, const char *method, const char *path, const char *auth,
                  const char *json);
/* The same with the service credential and no Authorization. */
void harness_call_service(struct worker *w, const char *method, const char *path, const char *json);
/* The same with FastCGI params and a body as harness_run takes them. */
void harness_call_run(struct worker *w, const char *const *params, const char *body,
                      size_t body_len);
/* Fails the test unless harness_res has status and, as its "detail",
 * the string detail. */
void harness_expect_error(int status, const char *detail);
/* The "msg" of the validation error of harness_res on field (its loc[1])
 * with type (NULL: any type), or NULL when there is none. Fails the test
 * unless harness_res is a 422 with a list of errors. */
const char *harness_invalid(const char *field, const char *type);
/* The value of header name of harness_res, or NULL when absent; valid
 * until the next call. */
const char *harness_res_header(const char *name);
/* Member name of element i of the array body of harness_res (fails the
 * test when the body is no array or the member is absent). */
struct json_object *harness_item(size_t i, const char *name);
/* A cmocka teardown (state unused): free harness_res; returns 0. */
int harness_done(void **state);

/* ---- quiet logs --------------------------------------------------------
 * log_init("unit", min) with the lines going to a temporary file (not the
 * test's output); returns that file (the test may read it back; it stays
 * open until the process ends). Fails the test when there is none. */
FILE *harness_log_quiet(enum log_level min);
/* A cmocka group setup (state unused): harness_log_quiet(LOG_LVL_DEBUG),
 * for tests that only want their logs out of the way; returns 0. */
int harness_quiet(void **state);

/* ---- input rules -------------------------------------------------------
 * A rule is a predicate on one string (conf_check_address...). Fails the
 * test, naming the rule and the string, unless rule gives exactly want
 * (1: true, 0: false) for every string of the NULL-terminated list. */
void harness_rule(const char *name, int (*rule)(const char *), int want, const char *const *list);
/* harness_rule(rule's name, rule, want, {the strings after want}). */
#define HARNESS_RULE(rule, want, ...)                                                              \
	harness_rule(#rule, rule, want, (const char *const[]){__VA_ARGS__, NULL})

/* The URL of the throwaway PostgreSQL that tests/unit/pg.sh started, read
 * from the file it wrote (malloc'd, to free). Fails the test when the
 * file is missing: such tests run under ctest, which starts the server
 * first (fixture unit_pg). */
char *harness_pg_url(const char *file);
/* A new handle (to db_free) on that PostgreSQL, with timeout_ms, after
 * the migrations under dir (an absolute path; NULL: none) are applied.
 * Fails the test when they do not apply. */
struct db *harness_pg_connect(const char *file, int timeout_ms, const char *dir);
/* The int64 in the first column of the first row of sql on db (a
 * "SELECT count(*) ..."). Fails the test when the query fails. */
int64_t harness_pg_count(struct db *db, const char *sql);

#endif
