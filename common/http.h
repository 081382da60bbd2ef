/* http.h - calls from one service to another over HTTP (libcurl), with
 * the service credential and a hard timeout, so a service that is down
 * costs the caller one bounded wait, never a hang. One connection is kept
 * per process and reused. */
#ifndef FO_HTTP_H
#define FO_HTTP_H

#include "buf.h"

struct json_object;

struct http_response {
	int status;      /* HTTP status; 0 when no answer */
	struct buf body; /* the response body */
};

/* Send method to url with headers X-Service-Key: service_key (when not
 * NULL), X-Request-ID: request_id (when not NULL or empty) and a JSON
 * body (when json is not NULL). Returns 0 with resp filled (whatever the
 * status), or -1 when there was no answer within timeout_ms. Release resp
 * with http_response_release either way. */
int http_call(const char *method, const char *url, const char *service_key, const char *request_id,
              const char *json, int timeout_ms, struct http_response *resp);
void http_response_release(struct http_response *resp);
/* The response body parsed as a JSON object, or NULL (caller puts). */
struct json_object *http_response_json(const struct http_response *resp);

#endif
