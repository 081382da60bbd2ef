/* peer.c - one way to call another service: its URL from the peers the
 * service declared, the service credential and the configured timeout.
 * The transport is http.c. */
#include <stdio.h>

#include "buf.h"
#include "log.h"
#include "peer.h"
#include "worker.h"

int peer_call(struct worker *w, const char *peer, const char *method, const char *path,
              const char *request_id, const char *json, struct http_response *resp)
{
	const struct conf *c = w->conf;
	const char *base = conf_peer_url(c, peer);
	struct buf url;

	if (base == NULL) {
		resp->status = 0;
		buf_init(&resp->body);
		log_error("call to an undeclared peer", "peer", peer, "path", path);
		return -1;
	}
	buf_init(&url);
	buf_printf(&url, "%s%s", base, path);
	int rc = http_call(method, buf_str(&url), c->service_key, request_id, json,
	                   c->service_timeout_ms, resp);
	buf_release(&url);
	return rc;
}
