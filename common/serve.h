/* serve.h - the dispatcher: one FastCGI request in, one response out.
 * FastCGI params -> req -> route table (404/405) -> auth flags -> handler
 * -> response, access log line, metrics. /health and /metrics are served
 * here for every pool. */
#ifndef FO_SERVE_H
#define FO_SERVE_H

#include <fcgiapp.h>

struct worker;

/* Serve the accepted request fr; never fails (errors become 5xx replies). */
void serve_request(struct worker *w, FCGX_Request *fr);
/* The route pattern of the request being served, for crash reports. */
const char *serve_current_route(void);

#endif
