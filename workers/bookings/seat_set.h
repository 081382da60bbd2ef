/* seat_set.h - the Redis set seats:<flight_id>, owned by the bookings
 * service: the live seats (held or booked) of a flight plus the sentinel
 * member "_", so an existing empty set is told from a missing one. The
 * bookings pool keeps it (and rebuilds it from PostgreSQL when missing);
 * the flights pool counts it (SCARD) for available_seats. */
#ifndef BOOKINGS_SEAT_SET_H
#define BOOKINGS_SEAT_SET_H

#include <inttypes.h>
#include <stdio.h>

#define SEAT_SET_SENTINEL "_"
#define SEAT_SET_KEY_MAX  32

/* The key of flight id's set into out (>= SEAT_SET_KEY_MAX bytes). */
static inline void seat_set_key(int64_t flight_id, char *out, size_t len)
{
	snprintf(out, len, "seats:%" PRId64, flight_id);
}

/* The live seats a SCARD of the set tells: 1 with *live (the members but
 * the sentinel), or 0 when the set does not exist (scard < 1). */
static inline int seat_set_live(long long scard, long long *live)
{
	if (scard < 1)
		return 0;
	*live = scard - 1;
	return 1;
}

#endif
