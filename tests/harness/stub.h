/* stub.h - a tiny HTTP/1.1 server on 127.0.0.1 in threads of the test,
 * standing in for a peer service: each request is answered from a table
 * (status, JSON body, an optional delay), each connection in a thread of
 * its own (a delayed answer never holds up the next request), and the
 * last request is kept for the test to look at. One stub at a time. */
#ifndef FO_STUB_H
#define FO_STUB_H

struct stub_route {
	const char *method; /* NULL ends the table */
	const char *path;   /* exact, or a prefix when it ends in '*' */
	int status;
	const char *body; /* JSON, may be NULL for none */
	int delay_ms;     /* wait this long before answering */
};

/* Serve routes (they must outlive the stub) on a free port of
 * 127.0.0.1; returns the port. Unmatched requests get 404
 * {"detail": "Not Found"}. Fails the test when it cannot listen. */
int stub_start(const struct stub_route *routes);
/* Stop serving; returns once every answer (delayed ones too) is done. */
void stub_stop(void);
/* Requests answered since stub_start. A delayed one counts when its
 * delay is over, just before its answer is sent: a test may wait on the
 * count for an answer its caller gave up on. */
int stub_count(void);
/* The last request's path (with query), body, and header name's value
 * ("" when absent); valid until the next request or stub_stop. */
const char *stub_last_path(void);
const char *stub_last_body(void);
const char *stub_last_header(const char *name);

#endif
