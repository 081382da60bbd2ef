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
};

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
 * A single trailing '/' on path is ignored. A segment longer than
 * ROUTE_PARAM_MAX - 1 never matches a capture. */
enum route_result route_find(const struct route *table, const char *method, const char *path,
                             struct route_match *m);
/* The capture called name, or NULL. */
const char *route_param(const struct route_match *m, const char *name);

#endif
