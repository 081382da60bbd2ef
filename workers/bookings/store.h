/* store.h - the bookings database: bookings, seat decisions and
 * their outbox. Knows SQL, not HTTP. Every read reports the
 * effective status: a pending hold past its expiry reads as "expired"
 * even before the sweeper has written it. */
#ifndef BOOKINGS_STORE_H
#define BOOKINGS_STORE_H

#include <stdint.h>

#include "store_status.h"

struct db;

/* A booking carries 1 to BOOKING_PASSENGERS_MAX passengers, a seat each. */
#define BOOKING_PASSENGERS_MAX 9
/* 128 characters of up to four bytes each, and the NUL. */
#define PASSENGER_NAME_MAX (128 * 4 + 1)

struct passenger {
	char full_name[PASSENGER_NAME_MAX]; /* "" = not known */
	char seat_number[8];
	char cabin[20]; /* "" = not known (booked before cabins were recorded) */
	int64_t price_cents;
	int seat_index; /* from 0 on its flight: only create uses it (lock and insert order) */
};

struct booking {
	int64_t id;
	char reference[8];
	int64_t user_id;
	int64_t flight_id;
	char seat_number[8];
	char status[12];
	int64_t total_cents;
	char hold_expires_at[24];
	int64_t payment_id; /* 0 = none */
	char created_at[24];
	char cancelled_at[24]; /* "" = none */
	char lock_token[40];
	/* the flight as it was when the seat was held, for messages */
	char flight_number[8];
	char origin[4];
	char destination[4];
	char departure_time[24];
	char request_id[72]; /* of the request that last changed it; "" = unknown */
	int departed;        /* its flight's departure_time has passed */
	/* written by create only: the Idempotency-Key and request hash of the
	 * request that made it ("" = none) */
	char idempotency_key[256];
	char request_hash[48];
	/* every seat of it, in the order given (passengers[0] is seat_number) */
	int npassengers;
	struct passenger passengers[BOOKING_PASSENGERS_MAX];
};

/* One seat of a booking, as the seat readers give it: a flight's seat map
 * can be 853 of them, and occupancy 200 flights' worth, so not a whole
 * struct booking each. */
struct seat_row {
	int64_t booking_id;
	int64_t flight_id;
	char seat_number[8];
	char status[12]; /* its booking's effective status */
};

/* A flight as its newest booking recorded it: what its entries in the
 * gateways' read cache are named by (flights/read_cache.h). */
struct flight_route {
	int64_t flight_id;
	char origin[4];
	char destination[4];
	char date[12]; /* of departure, UTC: YYYY-MM-DD */
};

enum create_result {
	CREATE_OK = 0,
	CREATE_SEAT_TAKEN,
	CREATE_TOO_MANY_HOLDS,
	CREATE_ERROR,
};

/* Called with the new row just before COMMIT, in the same transaction
 * (to record what the hold answers): 0, or -1 to roll everything back. */
typedef int (*store_before_commit)(struct db *db, const struct booking *out, void *ctx);

/* In one transaction: expire the overdue holds on the seats, check the
 * user's live held seats plus b's against max_holds, then insert b
 * (user_id, flight_id, seat_number, total_cents, lock_token, and every
 * passenger with its seat, cabin and price) as pending for hold_seconds
 * with a fresh reference, then run before_commit (when not NULL). The
 * partial unique index on live seats decides; the seats are inserted in
 * seat_index order, so two overlapping holds cannot deadlock. All seats
 * or none: on CREATE_SEAT_TAKEN the seats that were taken are written to
 * taken ("12A, 12C", size takenlen) and nothing is held. Without
 * before_commit it is one statement (booking_hold, sql/bookings/007), its
 * own transaction, unless overdue holds are on the seats. */
enum create_result store_booking_create(struct db *db, const struct booking *b, int max_holds,
                                        int hold_seconds, store_before_commit before_commit,
                                        void *ctx, struct booking *out, char *taken,
                                        size_t takenlen);
/* The booking user_id made in the last 24 h under Idempotency-Key key
 * (and its request hash into hash, size >= 48): STORE_OK / NOT_FOUND / ERROR. */
enum store_status store_booking_by_key(struct db *db, int64_t user_id, const char *key,
                                       struct booking *out, char *hash, size_t hashlen);
/* The booking id, if owner is 0 or its user_id: STORE_OK / NOT_FOUND / ERROR. */
enum store_status store_booking_get(struct db *db, int64_t id, int64_t owner, struct booking *out);

struct booking_filter {
	int64_t user_id;       /* 0 = any */
	int64_t flight_id;     /* 0 = any */
	const char *status;    /* NULL = any */
	const char *reference; /* NULL = any */
	int64_t limit, offset;
};
/* Up to f->limit bookings (newest first) into *out (malloc'd, to free),
 * *n of them, *total matching. STORE_OK or STORE_ERROR. */
enum store_status store_booking_list(struct db *db, const struct booking_filter *f,
                                     struct booking **out, int *n, int64_t *total);

/* Cancel a pending (unexpired) or confirmed booking of owner (0 = any),
 * as request request_id (its events carry it).
 * STORE_OK with out (and *was = its previous status), STORE_NOT_FOUND,
 * STORE_CONFLICT (already cancelled or expired; out holds it), STORE_ERROR. */
enum store_status store_booking_cancel(struct db *db, int64_t id, int64_t owner,
                                       const char *request_id, struct booking *out, char *was,
                                       size_t waslen);
/* Confirm a pending, unexpired booking with payment_id, as request
 * request_id (the payment's; its e-mail carries it). Confirming again
 * with the same payment is STORE_OK. STORE_CONFLICT: out holds its status. */
enum store_status store_booking_confirm(struct db *db, int64_t id, int64_t payment_id,
                                        const char *request_id, struct booking *out);

/* Live seats (held or booked) of a flight: *seats is a malloc'd array of
 * *n of them. */
enum store_status store_live_seats(struct db *db, int64_t flight_id, struct seat_row **seats,
                                   int *n);

/* Live seats of several flights (ids as an array literal "{1,2}") in
 * *out (malloc'd), *n of them. */
enum store_status store_occupancy(struct db *db, const char *ids, struct seat_row **out, int *n);

/* Expire up to limit overdue holds (every seat of each); the expired
 * bookings, with their passengers, into *out (malloc'd), *n of them. */
enum store_status store_expire_holds(struct db *db, int limit, struct booking **out, int *n);
/* The seats changed (a row's updated_at) after *since and up to 1.5 s
 * ago, each once, as the booking that gives its state now: its live booking if it has one, else the
 * newest changed row (expired or cancelled). since (size sincelen) is the database's time as text,
 * "" at first (then the last 30 s); on STORE_OK it becomes the window's end. */
enum store_status store_seats_changed(struct db *db, char *since, size_t sincelen,
                                      struct seat_row **out, int *n);
/* The route of each of the n flights that has a booking (out: caller frees). */
enum store_status store_flight_routes(struct db *db, const int64_t *ids, int n,
                                      struct flight_route **out, int *nout);
#endif
