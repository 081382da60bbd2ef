/* cors.h - which browser origins may call the API (CORS_ORIGINS, a
 * comma-separated list of exact origins) and the headers they are
 * given. serve.c adds them; handlers never see CORS. */
#ifndef FO_CORS_H
#define FO_CORS_H

/* The response headers a browser on an allowed origin may read. */
#define CORS_EXPOSE_HEADERS                                                                        \
	"X-Request-ID, X-Total-Count, ETag, Idempotent-Replayed, Retry-After, WWW-Authenticate, "  \
	"Allow"
/* The request headers a preflight may ask for. */
#define CORS_ALLOW_HEADERS                                                                         \
	"Authorization, Content-Type, Idempotency-Key, X-Request-ID, If-None-Match"
/* Seconds a browser may keep a preflight's answer. */
#define CORS_MAX_AGE "600"

/* 1 when origin (the Origin header, "" when none) is one of the exact
 * origins of list (CORS_ORIGINS, NULL or "" = none), else 0. Compared
 * byte for byte: origins are lower case as browsers send them. */
int cors_allowed(const char *list, const char *origin);
/* A conf check for CORS_ORIGINS: NULL when every comma-separated entry is
 * an origin (http:// or https://, a host, an optional :port, no path),
 * else what is wrong. */
const char *cors_check_origins(const char *value);

#endif
