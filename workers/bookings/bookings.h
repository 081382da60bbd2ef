/* bookings.h - handlers, background work and input rules of the
 * bookings service. */
#ifndef BOOKINGS_BOOKINGS_H
#define BOOKINGS_BOOKINGS_H

#include <stddef.h>
#include <stdint.h>

struct req;
struct worker;
struct service;

/* The bookings service's own settings (main.c declares them). */
struct bookings_settings {
	int hold_seconds;       /* BOOKING_HOLD_SECONDS: how long a pending booking holds */
	int max_active_holds;   /* MAX_ACTIVE_HOLDS pending bookings per user */
	char *live_publish_url; /* LIVE_PUBLISH_URL: Nchan publisher, + /<flight id> */
	char *cache_purge_url;  /* CACHE_PURGE_URL: the gateways' read cache purge */
};

void bookings_create(struct req *r);
void bookings_list(struct req *r);
void bookings_get(struct req *r);
void bookings_status(struct req *r);
void bookings_cancel(struct req *r);
void bookings_seat_map(struct req *r);
void bookings_internal_occupancy(struct req *r);
void bookings_internal_get(struct req *r);
void bookings_internal_confirm(struct req *r);

/* The tick child: expire overdue holds and prune idempotency keys. */
void bookings_tick(struct worker *w);

/* Parse a seat like "12A" (letter case ignored) on a flight of
 * total_seats laid out in rows of six A-F: its index from 0, with the
 * canonical form written to out (size >= 8); -1 when it is not a seat of
 * that flight (or malformed: "0A", "01A", "1G", ""). */
int bookings_seat_index(const char *seat, int64_t total_seats, char *out, size_t outlen);
/* The canonical name of seat index i ("1A" for 0) into out. */
void bookings_seat_name(int64_t i, char *out, size_t outlen);

/* What the pool declares (service.c): routes, settings, peers, hooks. */
extern const struct service bookings_service;

#endif
