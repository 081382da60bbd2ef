/* live.h - the live seat map: after a seat change is committed, bookings
 * publishes the seat's new state to the flight's Nchan channel on every
 * gateway (nginx holds the subscribers of GET /flights/{id}/seats/live,
 * never a pool worker), and the tick child publishes each change once more
 * a moment later, so that a publish lost in a crash or to a gateway that
 * was away is made good within seconds. docs/ARCHITECTURE.md, "Live seat
 * map", says what a client may rely on. */
#ifndef BOOKINGS_LIVE_H
#define BOOKINGS_LIVE_H

#include <stdint.h>

struct booking;
struct worker;

/* After b changed: purge its flight's reads in the gateways' read cache
 * (flights/read_cache.h), then publish {"seat_number": seat, "status":
 * status} for every seat of b (its passengers', or its seat_number when it
 * lists none) with the state its booking status gives it (pending: held,
 * confirmed: booked, expired or cancelled: available); one exchange per
 * gateway (gateways.h), bounded, failures logged, never returned. */
void live_booking(struct worker *w, const struct booking *b);
/* The seat map's status of a booking in status (as above). */
const char *live_seat_status(const char *booking_status);

/* The tick child's part: publish again the current state of every seat
 * changed between the previous call and LIVE_REPUBLISH_LAG_MS ago (at the
 * first call, the last LIVE_FIRST_LOOKBACK_S seconds: what a pool killed
 * just before may have committed without publishing), and purge those
 * seats' flights in the read cache again. */
void live_republish(struct worker *w);

#endif
