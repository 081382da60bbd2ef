/* peer.h - calls to the services a service declared as its peers
 * (service.h): the URL from the peer's setting, the service credential,
 * the request id passed on and SERVICE_TIMEOUT_MS, in one place. */
#ifndef FO_PEER_H
#define FO_PEER_H

#include "http.h"

struct worker;

/* Send method to path (from "/") on peer name, with json as the body
 * when not NULL. Returns 0 with resp filled (whatever the status), or -1
 * when there was no answer in time or the peer is not declared (logged).
 * Release resp with http_response_release either way. */
int peer_call(struct worker *w, const char *peer, const char *method, const char *path,
              const char *request_id, const char *json, struct http_response *resp);

#endif
