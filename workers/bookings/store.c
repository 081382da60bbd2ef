/* store.c - SQL of the bookings service. Constant statements with $n
 * parameters; rows are copied into struct booking. The seat decision is
 * the INSERT ... ON CONFLICT against the partial unique index on live
 * bookings; everything else here is bookkeeping around it. */
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "db.h"
#include "mem.h"
#include "store.h"

#define ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
#define EFFECTIVE_STATUS                                                                           \
	"CASE WHEN status = 'pending' AND hold_expires_at <= now() THEN 'expired' ELSE status END"
#define BOOKING_COLUMNS                                                                            \
	"id, reference, user_id, flight_id, seat_number, " EFFECTIVE_STATUS                        \
	", total_cents, " ISO("hold_expires_at") ", coalesce(payment_id, 0), " ISO(                \
	        "created_at") ", "                                                                 \
	                      "coalesce(" ISO("cancelled_at") ", ''), coalesce(lock_token, '')"
#define NCOLUMNS 12

/* Outbox rows written by the same statement as the change they announce
 * (from a CTE named by the macro's argument, with bookings' columns). */
#define NOTIFY_FROM(cte, event, type, message)                                                     \
	"INSERT INTO outbox (event_id, service, path, payload) "                                   \
	"SELECT " event " || " cte ".id, 'notifications', '/notifications', "                      \
	"json_build_object('user_id', " cte ".user_id, 'booking_id', " cte ".id, "                 \
	"'type', '" type "', 'event_id', " event " || " cte ".id, 'message', " message             \
	")::text FROM " cte " ON CONFLICT (event_id) DO NOTHING"
#define FLIGHT_TEXT(cte) "coalesce(" cte ".flight_number, 'flight ' || " cte ".flight_id)"
#define HOLD_EXPIRED_OUTBOX(cte)                                                                   \
	NOTIFY_FROM(cte, "'hold-expired-'", "hold_expired",                                        \
	            "format('Your hold on seat %s of %s (booking %s) expired before payment, "     \
	            "and the seat was released.', " cte                                            \
	            ".seat_number, " FLIGHT_TEXT(cte) ", " cte ".reference)")

/* Booking references: no 0/O or 1/I, so they can be read over the phone. */
static const char ref_alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

static void new_reference(char out[8])
{
	unsigned char raw[6];

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		abort();
	for (int i = 0; i < 6; i++)
		out[i] = ref_alphabet[raw[i] % 32];
	out[6] = '\0';
}

static void read_row(const PGresult *res, int row, void *out)
{
	struct booking *b = out;

	memset(b, 0, sizeof(*b));
	b->id = db_int(res, row, 0);
	db_text(b->reference, sizeof(b->reference), res, row, 1);
	b->user_id = db_int(res, row, 2);
	b->flight_id = db_int(res, row, 3);
	db_text(b->seat_number, sizeof(b->seat_number), res, row, 4);
	db_text(b->status, sizeof(b->status), res, row, 5);
	b->total_cents = db_int(res, row, 6);
	db_text(b->hold_expires_at, sizeof(b->hold_expires_at), res, row, 7);
	b->payment_id = db_int(res, row, 8);
	db_text(b->created_at, sizeof(b->created_at), res, row, 9);
	db_text(b->cancelled_at, sizeof(b->cancelled_at), res, row, 10);
	db_text(b->lock_token, sizeof(b->lock_token), res, row, 11);
}

static enum store_status one(PGresult *res, struct booking *out)
{
	return db_one(res, read_row, out);
}

static enum store_status all(PGresult *res, struct booking **out, int *n)
{
	return db_all(res, read_row, sizeof(**out), (void **)out, n);
}

/* Statements of the create transaction, each 0 or -1. */
static int lock_user(struct db *db, const char *user)
{
	const char *p[] = {user};
	PGresult *res = db_exec(
	        db, "SELECT pg_advisory_xact_lock(hashtextextended('holds:' || $1, 0))", 1, p);
	PQclear(res);
	return res ? 0 : -1;
}

static int expire_seat(struct db *db, const char *flight, const char *seat)
{
	const char *p[] = {flight, seat};
	PGresult *res = db_exec(db,
	                        "WITH e AS (UPDATE bookings SET status = 'expired', "
	                        "updated_at = now() WHERE flight_id = $1 AND seat_number = $2 "
	                        "AND status = 'pending' AND hold_expires_at <= now() RETURNING "
	                        "*) " HOLD_EXPIRED_OUTBOX("e"),
	                        2, p);
	PQclear(res);
	return res ? 0 : -1;
}

/* The user's live holds, or -1. */
static int64_t live_holds(struct db *db, const char *user)
{
	const char *p[] = {user};
	PGresult *res = db_exec(db,
	                        "SELECT count(*) FROM bookings WHERE user_id = $1 "
	                        "AND status = 'pending' AND hold_expires_at > now()",
	                        1, p);
	if (res == NULL)
		return -1;
	int64_t n = db_int(res, 0, 0);
	PQclear(res);
	return n;
}

/* Insert the hold; retries on the (rare) clash of a fresh reference. */
static enum create_result insert_hold(struct db *db, const char *const *p, struct booking *out)
{
	char ref[8];
	const char *params[11] = {ref, p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9]};

	for (int attempt = 0; attempt < 5; attempt++) {
		new_reference(ref);
		if (db_run(db, "SAVEPOINT hold") < 0)
			return CREATE_ERROR;
		PGresult *res = db_exec(
		        db,
		        "INSERT INTO bookings (reference, user_id, flight_id, seat_number, "
		        "total_cents, hold_expires_at, lock_token, flight_number, origin, "
		        "destination, departure_time) "
		        "VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6::int), $7, "
		        "$8, $9, $10, NULLIF($11, '')::timestamptz) "
		        "ON CONFLICT (flight_id, seat_number) WHERE status IN ('pending', "
		        "'confirmed') "
		        "DO NOTHING RETURNING " BOOKING_COLUMNS,
		        11, params);
		if (res == NULL && strcmp(db_sqlstate(db), "23505") == 0) {
			if (db_run(db, "ROLLBACK TO SAVEPOINT hold") < 0)
				return CREATE_ERROR;
			continue;
		}
		enum store_status st = one(res, out);
		if (st == STORE_ERROR)
			return CREATE_ERROR;
		return st == STORE_OK ? CREATE_OK : CREATE_SEAT_TAKEN;
	}
	return CREATE_ERROR;
}

static enum create_result create_in_tx(struct db *db, const struct booking *b, int max_holds,
                                       int hold_seconds, struct booking *out)
{
	char user[24], flight[24], cents[24], secs[16];
	const char *p[] = {user,           flight,           b->seat_number,   cents,
	                   secs,           b->lock_token,    b->flight_number, b->origin,
	                   b->destination, b->departure_time};

	db_fmt_int(user, sizeof(user), b->user_id);
	db_fmt_int(flight, sizeof(flight), b->flight_id);
	db_fmt_int(cents, sizeof(cents), b->total_cents);
	db_fmt_int(secs, sizeof(secs), hold_seconds);
	if (lock_user(db, user) < 0 || expire_seat(db, flight, b->seat_number) < 0)
		return CREATE_ERROR;
	int64_t holds = live_holds(db, user);
	if (holds < 0)
		return CREATE_ERROR;
	if (holds >= max_holds)
		return CREATE_TOO_MANY_HOLDS;
	return insert_hold(db, p, out);
}

enum create_result store_booking_create(struct db *db, const struct booking *b, int max_holds,
                                        int hold_seconds, struct booking *out)
{
	if (db_run(db, "BEGIN") < 0)
		return CREATE_ERROR;
	enum create_result rc = create_in_tx(db, b, max_holds, hold_seconds, out);
	if (rc != CREATE_OK || db_run(db, "COMMIT") < 0) {
		db_run(db, "ROLLBACK");
		return rc == CREATE_OK ? CREATE_ERROR : rc;
	}
	return CREATE_OK;
}

enum store_status store_booking_get(struct db *db, int64_t id, int64_t owner, struct booking *out)
{
	char sid[24], sowner[24];
	const char *p[] = {sid, sowner};

	db_fmt_int(sid, sizeof(sid), id);
	db_fmt_int(sowner, sizeof(sowner), owner);
	return one(db_exec(db,
	                   "SELECT " BOOKING_COLUMNS " FROM bookings "
	                   "WHERE id = $1 AND ($2::bigint = 0 OR user_id = $2)",
	                   2, p),
	           out);
}

enum store_status store_booking_list(struct db *db, const struct booking_filter *f,
                                     struct booking **out, int *n, int64_t *total)
{
	char user[24], flight[24], limit[24], offset[24];
	const char *p[] = {user, flight, f->status, limit, offset};

	db_fmt_int(user, sizeof(user), f->user_id);
	db_fmt_int(flight, sizeof(flight), f->flight_id);
	db_fmt_int(limit, sizeof(limit), f->limit);
	db_fmt_int(offset, sizeof(offset), f->offset);
	PGresult *res = db_exec(db,
	                        "SELECT " BOOKING_COLUMNS ", count(*) OVER () FROM bookings "
	                        "WHERE ($1::bigint = 0 OR user_id = $1) "
	                        "AND ($2::bigint = 0 OR flight_id = $2) "
	                        "AND ($3::text IS NULL OR " EFFECTIVE_STATUS " = $3) "
	                        "ORDER BY id DESC LIMIT $4 OFFSET $5",
	                        5, p);
	*total = res && PQntuples(res) > 0 ? db_int(res, 0, NCOLUMNS) : 0;
	if (res && PQntuples(res) == 0 && f->offset > 0) {
		PGresult *c = db_exec(db,
		                      "SELECT count(*) FROM bookings "
		                      "WHERE ($1::bigint = 0 OR user_id = $1) "
		                      "AND ($2::bigint = 0 OR flight_id = $2) "
		                      "AND ($3::text IS NULL OR " EFFECTIVE_STATUS " = $3)",
		                      3, p);
		*total = c ? db_int(c, 0, 0) : 0;
		PQclear(c);
	}
	return all(res, out, n);
}

enum store_status store_booking_cancel(struct db *db, int64_t id, int64_t owner,
                                       struct booking *out, char *was, size_t waslen)
{
	char sid[24], sowner[24];
	const char *p[] = {sid, sowner};

	db_fmt_int(sid, sizeof(sid), id);
	db_fmt_int(sowner, sizeof(sowner), owner);
	PGresult *res = db_exec(
	        db,
	        "WITH old AS (SELECT id, status AS was FROM bookings "
	        "  WHERE id = $1 AND ($2::bigint = 0 OR user_id = $2) "
	        "  AND (status = 'confirmed' OR (status = 'pending' AND hold_expires_at > now())) "
	        "  FOR UPDATE), "
	        "c AS (UPDATE bookings b SET status = 'cancelled', cancelled_at = now(), "
	        "  updated_at = now() FROM old WHERE b.id = old.id RETURNING b.*, old.was), "
	        "n AS (" NOTIFY_FROM(
	                "c", "'booking-cancelled-'", "booking_cancellation",
	                "format('Your booking %s (seat %s on %s) has been cancelled.%s', "
	                "c.reference, c.seat_number, " FLIGHT_TEXT(
	                        "c") ", "
	                             "CASE WHEN c.was = 'confirmed' THEN ' Your payment will be "
	                             "refunded.' ELSE '' END)") "), "
	                                                        "r AS (INSERT INTO outbox "
	                                                        "(event_id, service, path, "
	                                                        "payload) "
	                                                        "  SELECT 'refund-booking-' || "
	                                                        "c.id, 'payments', "
	                                                        "'/internal/payments/refund', "
	                                                        "  json_build_object('booking_id', "
	                                                        "c.id, 'event_id', "
	                                                        "'refund-booking-' || c.id)::text "
	                                                        "  FROM c WHERE c.was = "
	                                                        "'confirmed' ON CONFLICT "
	                                                        "(event_id) DO NOTHING) "
	                                                        "SELECT was FROM c",
	        2, p);
	if (res == NULL)
		return STORE_ERROR;
	int done = PQntuples(res) > 0;
	if (done)
		snprintf(was, waslen, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	enum store_status st = store_booking_get(db, id, owner, out);
	if (st != STORE_OK)
		return st;
	return done ? STORE_OK : STORE_CONFLICT;
}

enum store_status store_booking_confirm(struct db *db, int64_t id, int64_t payment_id,
                                        struct booking *out)
{
	char sid[24], spay[24];
	const char *p[] = {sid, spay};

	db_fmt_int(sid, sizeof(sid), id);
	db_fmt_int(spay, sizeof(spay), payment_id);
	PGresult *res = db_exec(
	        db,
	        "WITH c AS (UPDATE bookings SET status = 'confirmed', payment_id = $2, "
	        "  updated_at = now() WHERE id = $1 AND status = 'pending' "
	        "  AND hold_expires_at > now() RETURNING *), "
	        "n AS (" NOTIFY_FROM("c", "'booking-confirmed-'", "booking_confirmation",
	                             "format('Your booking %s is confirmed. Flight %s from %s to "
	                             "%s, "
	                             "departing %s UTC. Seat %s. Total paid: %s.', "
	                             "c.reference, " FLIGHT_TEXT(
	                                     "c") ", coalesce(c.origin, '?'), "
	                                          "coalesce(c.destination, '?'), "
	                                          "coalesce(to_char(c.departure_time AT TIME ZONE "
	                                          "'UTC', "
	                                          "'YYYY-MM-DD HH24:MI'), '?'), c.seat_number, "
	                                          "to_char(c.total_cents / 100.0, "
	                                          "'FM9999999990.00'))") ") "
	                                                                 "SELECT " BOOKING_COLUMNS
	                                                                 " FROM c",
	        2, p);
	enum store_status st = one(res, out);
	if (st != STORE_NOT_FOUND)
		return st;
	st = store_booking_get(db, id, 0, out);
	if (st != STORE_OK)
		return st;
	if (strcmp(out->status, "confirmed") == 0 && out->payment_id == payment_id)
		return STORE_OK;
	return STORE_CONFLICT;
}

enum store_status store_live_seats(struct db *db, int64_t flight_id, struct booking **seats, int *n)
{
	char sid[24];
	const char *p[] = {sid};

	db_fmt_int(sid, sizeof(sid), flight_id);
	return all(db_exec(db,
	                   "SELECT " BOOKING_COLUMNS " FROM bookings WHERE flight_id = $1 "
	                   "AND (status = 'confirmed' OR "
	                   "(status = 'pending' AND hold_expires_at > now()))",
	                   1, p),
	           seats, n);
}

enum store_status store_occupancy(struct db *db, const char *ids, struct booking **out, int *n)
{
	const char *p[] = {ids};

	return all(db_exec(db,
	                   "SELECT " BOOKING_COLUMNS " FROM bookings "
	                   "WHERE flight_id = ANY($1::bigint[]) AND (status = 'confirmed' OR "
	                   "(status = 'pending' AND hold_expires_at > now()))",
	                   1, p),
	           out, n);
}

enum store_status store_expire_holds(struct db *db, int limit, struct booking **out, int *n)
{
	char slimit[16];
	const char *p[] = {slimit};

	snprintf(slimit, sizeof(slimit), "%d", limit);
	return all(db_exec(db,
	                   "WITH e AS (UPDATE bookings SET status = 'expired', updated_at = now() "
	                   "  WHERE id IN (SELECT id FROM bookings WHERE status = 'pending' "
	                   "  AND hold_expires_at <= now() ORDER BY hold_expires_at "
	                   "  LIMIT $1 FOR UPDATE SKIP LOCKED) RETURNING *), "
	                   "n AS (" HOLD_EXPIRED_OUTBOX("e") ") "
	                                                     "SELECT " BOOKING_COLUMNS " FROM e",
	                   1, p),
	           out, n);
}
