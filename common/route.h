/* route.h - the route table: method + pattern with ":name" captures.
 * Knows nothing of HTTP I/O; the dispatcher in serve.c uses it. */
#ifndef FO_ROUTE_H
#define FO_ROUTE_H

#include <stddef.h>

struct req;
typedef void (*route_handler)(struct req *r);

/* Who may call a route. 0 = anyone. Several flags = any of them. */
enum route_flags {
	ROUTE_USER = 1,    /* a valid user token, any role */
	ROUTE_ADMIN = 2,   /* a valid user token with role admin */
	ROUTE_SERVICE = 4, /* the internal service credential (X-Service-Key) */
	/* Not a caller: its 200 answers carry an ETag and honour
	 * If-None-Match (304), for public reads that browsers revalidate. */
	ROUTE_ETAG = 8,
};
/* The flags that say who may call a route. */
#define ROUTE_AUTH_FLAGS (ROUTE_USER | ROUTE_ADMIN | ROUTE_SERVICE)

struct route {
	const char *method;  /* "GET", "POST", ... */
	const char *pattern; /* "/bookings/:id/status" */
	route_handler fn;
	int flags;
};

#define ROUTE_MAX_PARAMS 4
#define ROUTE_PARAM_MAX  64

struct route_match {
	const struct route *route;
	int nparams;
	struct {
		char name[32];
		char value[ROUTE_PARAM_MAX]; /* one path segment, as sent */
	} params[ROUTE_MAX_PARAMS];
	char allow[64]; /* on ROUTE_BAD_METHOD: "GET, POST" */
};

enum route_result { ROUTE_FOUND, ROUTE_NOT_FOUND, ROUTE_BAD_METHOD };

/* Match method and path (no query) against table, ended by a NULL method.
 * HEAD matches a GET route (serve.c sends no body), and wherever GET is
 * allowed, the Allow list of a 405 names HEAD too.
 * Paths match exactly: a trailing '/' is another path (404), so every
 * route has one spelling. A segment longer than
 * ROUTE_PARAM_MAX - 1 never matches a capture. */
enum route_result route_find(const struct route *table, const char *method, const char *path,
                             struct route_match *m);
/* The capture called name, or NULL. */
const char *route_param(const struct route_match *m, const char *name);

#endif
