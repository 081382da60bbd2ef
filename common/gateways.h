/* gateways.h - calls from a pool to every gateway (nginx) of a list, such
 * as bookings' LIVE_PUBLISH_URL or CACHE_PURGE_URL: http:// URLs separated
 * by spaces or commas, one per gateway.
 *
 * Calls are queued, then sent together: each gateway address (host:port,
 * whichever lists name it) gets every queued request in one write on a
 * kept connection, and its answers are read back in order (HTTP/1.1
 * pipelining). A booking's purges and seat publishes cost one round trip
 * per gateway, not one per call. The exchange with one gateway is bounded
 * by a short timeout; a gateway that failed is skipped by this process for
 * a few seconds, so one that is down costs one timeout per process per
 * period. What the calls carry (a seat change, a purge) is already
 * committed: failures are logged, never returned to a client. */
#ifndef FO_GATEWAYS_H
#define FO_GATEWAYS_H

#define GATEWAYS_MAX 16
/* The longest URL of a gateway in such a list. */
#define GATEWAY_URL_MAX 400
/* nginx on loopback or a LAN answers in well under a millisecond; a slow
 * or absent one costs an exchange at most this. */
#define GATEWAY_TIMEOUT_MS 300
/* How long a gateway that failed is skipped. */
#define GATEWAY_BACKOFF_MS 5000

/* The settings' check of such a list: NULL when fine, else what is wrong. */
const char *gateways_check(const char *value);

/* Queue method <url>/<suffix> for every gateway of urls (NULL or empty:
 * none), with body as its JSON body when not NULL. An answer is fine when
 * it is 2xx, or 404 for PURGE (nothing was kept under that key). */
void gateways_add(const char *urls, const char *method, const char *suffix, const char *body);
/* Send what is queued and read the answers, logging what failed: how
 * many requests were not answered fine (callers need not look: the
 * change is committed, and the republish makes good what was lost). */
int gateways_send(void);

#endif
