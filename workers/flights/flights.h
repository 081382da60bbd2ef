/* flights.h - handlers and input rules of the flights service. */
#ifndef FLIGHTS_FLIGHTS_H
#define FLIGHTS_FLIGHTS_H

#include <stddef.h>

struct req;
struct service;
struct flight;
struct json_object;

/* The flights service's own settings (service.c declares them). */
struct flights_settings {
	char *cache_purge_url; /* CACHE_PURGE_URL: each gateway's read cache purge */
};

void flights_list(struct req *r);
void flights_search(struct req *r);
void flights_get(struct req *r);
void flights_create(struct req *r);
void flights_update(struct req *r);
void flights_delete(struct req *r);
void flights_internal_get(struct req *r);

/* Upper-case s into out (outlen >= 8) when it is a flight number:
 * ^[A-Z0-9]{2}[0-9]{1,4}[A-Z]?$ after upper-casing. 0, or -1 (out is then
 * unspecified). */
int flights_number_normalize(const char *s, char *out, size_t outlen);
/* Upper-case s into out (4 bytes) when it is three ASCII letters: 0 or -1. */
int flights_iata_normalize(const char *s, char *out);

/* What the pool declares (service.c): routes, settings, peers, hooks. */
extern const struct service flights_service;

#endif
