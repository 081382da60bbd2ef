/* seat_set.h - the Redis key seats:<flight_id>, owned by the bookings
 * service: a cached count of the flight's live seats (held or booked),
 * as PostgreSQL told it at most SEAT_COUNT_TTL_MS ago. Only the bookings
 * pool writes it (GET /internal/occupancy counts in PostgreSQL and stores
 * the answer; every change of a live seat deletes it); the flights pool
 * reads it for available_seats and asks the bookings pool on a miss.
 * Its value is "<count>@<unix ms when counted>": a reader trusts it only
 * while that is under SEAT_COUNT_TTL_MS old, so not even a value written
 * by hand, restored from a dump or left with another expiry can be
 * believed for longer.
 *
 * Why a short-lived count and not a set kept up to date member by member:
 * a set drifts whenever one SADD/SREM is lost (Redis restarted, flushed,
 * frozen, a worker killed between COMMIT and SADD) and stays wrong until
 * someone notices. A count that expires on its own cannot be wrong for
 * longer than its lifetime, whatever happened to Redis (docs/ARCHITECTURE.md,
 * "Redis never decides"). */
#ifndef BOOKINGS_SEAT_SET_H
#define BOOKINGS_SEAT_SET_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#define SEAT_SET_KEY_MAX 32
/* Under the 2 s promise with room for a request in flight. */
#define SEAT_COUNT_TTL_MS 1000

/* The key of flight id's count into out (>= SEAT_SET_KEY_MAX bytes). */
static inline void seat_set_key(int64_t flight_id, char *out, size_t len)
{
	snprintf(out, len, "seats:%" PRId64, flight_id);
}

/* The value of a count live counted at now_ms into out: its length. */
static inline int seat_count_format(int64_t live, int64_t now_ms, char *out, size_t len)
{
	return snprintf(out, len, "%" PRId64 "@%" PRId64, live, now_ms);
}

/* A cached value read at now_ms: 1 with *live when it is well formed and
 * fresh (counted less than SEAT_COUNT_TTL_MS before now_ms, not in the
 * future beyond a little clock skew), else 0 (ask PostgreSQL). */
static inline int seat_count_parse(const char *value, int64_t now_ms, long long *live)
{
	char *end;

	if (value == NULL || *value < '0' || *value > '9')
		return 0;
	long long n = strtoll(value, &end, 10);
	if (*end != '@' || end[1] < '0' || end[1] > '9')
		return 0;
	long long at = strtoll(end + 1, &end, 10);
	if (*end != '\0' || n < 0 || now_ms - at >= SEAT_COUNT_TTL_MS || at - now_ms > 1000)
		return 0;
	*live = n;
	return 1;
}

#endif
