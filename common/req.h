/* req.h - one request as handlers see it: method, path, query, the
 * headers we use, the body (capped), the route captures, the caller, and
 * the response being built. Built by serve.c from FastCGI params;
 * handlers never see FastCGI. */
#ifndef FO_REQ_H
#define FO_REQ_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "buf.h"
#include "route.h"

struct worker;
struct json_object;

enum req_caller { CALLER_NONE, CALLER_USER, CALLER_SERVICE };

#define REQ_ID_MAX 65

struct req {
	struct worker *w;
	const char *method;          /* "GET" */
	const char *path;            /* decoded path, no query */
	const char *query;           /* raw query string, "" when none */
	const char *content_type;    /* "" when none */
	const char *authorization;   /* "" when none */
	const char *service_key;     /* X-Service-Key, "" when none */
	const char *idempotency_key; /* Idempotency-Key, "" when none */
	const char *origin;          /* Origin (browsers), "" when none */
	const char *cors_method;     /* Access-Control-Request-Method (a preflight), "" when none */
	const char *if_none_match;   /* If-None-Match, "" when none */
	char request_id[REQ_ID_MAX];
	char *body; /* NUL-terminated, body_len bytes; owned */
	size_t body_len;
	struct route_match match;
	enum req_caller caller;
	struct auth_claims user;  /* when caller == CALLER_USER */
	struct json_object *json; /* parsed body, owned; see req_json */

	/* the response */
	int status;         /* 0 until a reply_* call */
	struct buf headers; /* extra "Name: value\r\n" lines */
	struct buf out;     /* body */
	const char *out_type;
};

void req_init(struct req *r, struct worker *w);
void req_release(struct req *r);

/* Helpers named ..._or_reply reply themselves when they fail (the
 * caller just returns); field_* readers only collect errors, and the
 * caller replies (reply_invalid). */

/* The route capture name as a positive int64: 0, or -1 after replying
 * 404 with not_found (NULL: "Not Found"), since an id that does not
 * parse names no resource. */
int req_param_id_or_reply(struct req *r, const char *name, const char *not_found, int64_t *id);
/* The body as a JSON object, parsed once and owned by r; NULL after
 * replying 400 (malformed JSON) or 422 (not an object). */
struct json_object *req_json_or_reply(struct req *r);
/* 1 when the body is a form (application/x-www-form-urlencoded). */
int req_is_form(const struct req *r);
/* 1 when the caller is a service or an admin user. */
int req_is_privileged(const struct req *r);
/* The user a read or change is limited to: 0 (anyone's) for services and
 * admins, else the caller's own id. Pass it to the store's owner check. */
int64_t req_owner(const struct req *r);
/* A user_id the caller named in a body or query (0 = none): privileged
 * callers may name anyone, others only themselves. 0, or -1 after
 * replying 403. */
int req_check_user_or_reply(struct req *r, int64_t user_id);

/* One query filter of a list endpoint. */
struct req_filter {
	const char *name;
	enum {
		REQ_FILTER_ID,   /* a positive id; out: int64_t *, stays 0 when absent */
		REQ_FILTER_ENUM, /* one of values; out: const char **, set to values[i] */
		REQ_FILTER_USER, /* a user id, checked as req_check_user_or_reply does;
		                    out: int64_t *, req_owner(r) when absent */
	} kind;
	const char *const *values;
	void *out;
};

/* Read a list endpoint's query: every filter (NULL-terminated by name,
 * may be NULL) and limit/offset (field_query_paging). 0, or -1 after
 * replying 422 with every problem, or 403. */
int req_list_or_reply(struct req *r, const struct req_filter *filters, int64_t *limit,
                      int64_t *offset);

#endif
