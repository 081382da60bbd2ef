/* fake_store.h - the bookings store in memory, for the handler tests
 * (test_bookings_handlers.c links fake_store.c instead of store.c). It
 * keeps the rules the handlers rely on (one live booking per seat, the
 * hold limit, owners, the cancel and confirm transitions) but no clock:
 * a hold expires only when a test sets its status. */
#ifndef BOOKINGS_FAKE_STORE_H
#define BOOKINGS_FAKE_STORE_H

#include "fake_ops.h"
#include "store.h"

#define FAKE_STORE_MAX 64

/* What the handlers last gave the store, for tests to check. */
struct fake_store_args {
	int64_t owner;                /* of the last get or cancel */
	struct booking_filter filter; /* of the last list (its reference: below) */
	char reference[8];            /* the last list's reference filter, "" = none */
	struct booking created;       /* the booking the last create was given */
	int max_holds, hold_seconds;  /* of the last create */
};

/* Forget every booking, call and pending failure. */
void fake_store_reset(void);
/* Add b as it is, with the next id (and a reference, times if empty);
 * returns the id. */
int64_t fake_store_add(const struct booking *b);
/* Failures and calls (fake_ops.h): fake_store_fail_next(st) makes the
 * next store call answer st (STORE_ERROR, STORE_NOT_FOUND or
 * STORE_CONFLICT) without reading or changing anything; a create maps
 * STORE_CONFLICT to CREATE_SEAT_TAKEN and the others to CREATE_ERROR.
 * fake_store_fail and fake_store_calls name the store functions
 * "create", "get", "list", "cancel", "confirm", "live_seats",
 * "occupancy" and "expire_holds" (fake_store_calls(NULL): every call). */
/* The booking id as stored (NULL when absent), to check a change. */
const struct booking *fake_store_find(int64_t id);
/* What the calls so far gave the store. */
const struct fake_store_args *fake_store_args(void);

#endif
