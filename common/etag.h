/* etag.h - entity tags of response bodies and the If-None-Match test,
 * for the routes that opt in (ROUTE_ETAG): serve.c tags their 200
 * answers and turns a matching If-None-Match into 304. */
#ifndef FO_ETAG_H
#define FO_ETAG_H

#include <stddef.h>

/* "\"" 16 hex digits "-" up to 16 hex digits "\"" and a NUL */
#define ETAG_MAX 40

/* The strong entity tag of the len bytes at body, quoted, into out
 * (ETAG_MAX bytes): a 64-bit FNV-1a hash and the length, so equal bodies
 * have equal tags and a changed body a new one. */
void etag_of(const void *body, size_t len, char out[ETAG_MAX]);
/* 1 when the If-None-Match value header ("" when none) names etag: "*",
 * or one of its comma-separated tags with weak comparison (W/ ignored),
 * else 0. */
int etag_matches(const char *header, const char *etag);

#endif
