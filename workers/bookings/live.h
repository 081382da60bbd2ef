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

/* Publish {"seat_number": seat, "status": status} ("available", "held"
 * or "booked") to flight_id's channel at <url>/<flight_id> of each
 * LIVE_PUBLISH_URL. Bounded by a short timeout per gateway; a gateway
 * that failed is skipped for a few seconds by this process; a failure is
 * logged, never returned: the change is already committed and the seat
 * map stays the truth. */
void live_seat(struct worker *w, int64_t flight_id, const char *seat, const char *status);
/* The same for every seat of b (its passengers', or its seat_number when
 * it lists none), with the state its booking status gives
 * it (pending: held, confirmed: booked, expired or cancelled: available). */
void live_booking(struct worker *w, const struct booking *b);
/* The seat map's status of a booking in status (as above). */
const char *live_seat_status(const char *booking_status);

/* The tick child's part: publish again the current state of every seat
 * changed between the previous call and LIVE_REPUBLISH_LAG_MS ago (at the
 * first call, the last LIVE_FIRST_LOOKBACK_S seconds: what a pool killed
 * just before may have committed without publishing). */
void live_republish(struct worker *w);

#endif
