/* gateways.h - calls from a pool to every gateway (nginx) of a list, such
 * as bookings' LIVE_PUBLISH_URL or CACHE_PURGE_URL: http(s) URLs separated
 * by spaces or commas, one per gateway. Each call is bounded by a short
 * timeout; a gateway that failed is skipped by this process for a few
 * seconds, so a gateway that is down costs one timeout per process per
 * period, not one per call. What the calls carry (a seat change, a purge)
 * is already committed: failures are logged by the caller, never returned
 * to a client. */
#ifndef FO_GATEWAYS_H
#define FO_GATEWAYS_H

#include <stddef.h>
#include <stdint.h>

#define GATEWAYS_MAX 16
/* The longest URL of a gateway in such a list. */
#define GATEWAY_URL_MAX 400
/* nginx on loopback or a LAN answers in well under a millisecond; a slow
 * or absent one costs a call at most this. */
#define GATEWAY_TIMEOUT_MS 300
/* How long a gateway that failed is skipped. */
#define GATEWAY_BACKOFF_MS 5000

/* Per process and list: when each gateway (by its place) may be tried. */
struct gateways {
	int64_t retry_at[GATEWAYS_MAX];
};

/* The settings' check of such a list: NULL when fine, else what is wrong. */
const char *gateways_check(const char *value);

/* Call fn(base, baselen, ctx) for each gateway of urls that is not being
 * skipped; fn returns 0, or -1 to skip that gateway for a while. */
typedef int (*gateway_fn)(const char *base, size_t baselen, void *ctx);
void gateways_each(struct gateways *g, const char *urls, gateway_fn fn, void *ctx);

/* PURGE <base>/<key> of each of the n keys on every gateway of urls (an
 * entry of nginx's cache, ngx_cache_purge): 200 (purged) and 404 (there
 * was none) are both fine. */
void gateways_purge(struct gateways *g, const char *urls, const char *const *keys, int n);

#endif
