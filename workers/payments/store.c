/* store.c - SQL of the payments service. Constant statements with $n
 * parameters. A payment's result and the event announcing it are written
 * by one statement, so neither can exist without the other. */
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "mem.h"
#include "store.h"

#define ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
#define PAYMENT_COLUMNS                                                                            \
	"id, booking_id, user_id, amount_cents, payment_method, card_last4, card_brand, "          \
	"gateway_token, status, coalesce(failure_reason, ''), " ISO(                               \
	        "created_at") ", "                                                                 \
	                      "coalesce(" ISO("processed_at") ", ''), coalesce(" ISO(              \
	                              "refunded_at") ", '')"
#define NCOLUMNS 13

static void read_row(const PGresult *res, int i, void *out)
{
	struct payment *p = out;

	memset(p, 0, sizeof(*p));
	p->id = db_int(res, i, 0);
	p->booking_id = db_int(res, i, 1);
	p->user_id = db_int(res, i, 2);
	p->amount_cents = db_int(res, i, 3);
	db_text(p->payment_method, sizeof(p->payment_method), res, i, 4);
	db_text(p->card_last4, sizeof(p->card_last4), res, i, 5);
	db_text(p->card_brand, sizeof(p->card_brand), res, i, 6);
	db_text(p->gateway_token, sizeof(p->gateway_token), res, i, 7);
	db_text(p->status, sizeof(p->status), res, i, 8);
	db_text(p->failure_reason, sizeof(p->failure_reason), res, i, 9);
	db_text(p->created_at, sizeof(p->created_at), res, i, 10);
	db_text(p->processed_at, sizeof(p->processed_at), res, i, 11);
	db_text(p->refunded_at, sizeof(p->refunded_at), res, i, 12);
}

static enum store_status one(PGresult *res, struct payment *out)
{
	return db_one(res, read_row, out);
}

static enum store_status all(PGresult *res, struct payment **out, int *n)
{
	return db_all(res, read_row, sizeof(**out), (void **)out, n);
}

enum store_status store_payment_create(struct db *db, const struct payment *p, struct payment *out)
{
	char booking[24], user[24], cents[24];
	const char *params[] = {booking,       user,          cents,           p->payment_method,
	                        p->card_last4, p->card_brand, p->gateway_token};

	db_fmt_int(booking, sizeof(booking), p->booking_id);
	db_fmt_int(user, sizeof(user), p->user_id);
	db_fmt_int(cents, sizeof(cents), p->amount_cents);
	enum store_status st = one(
	        db_exec(db,
	                "INSERT INTO payments (booking_id, user_id, amount_cents, payment_method, "
	                "card_last4, card_brand, gateway_token) VALUES ($1, $2, $3, $4, $5, $6, "
	                "$7) "
	                "ON CONFLICT (booking_id) WHERE status IN ('pending', 'succeeded') "
	                "DO NOTHING RETURNING " PAYMENT_COLUMNS,
	                7, params),
	        out);
	return st == STORE_NOT_FOUND ? STORE_CONFLICT : st;
}

enum store_status store_payment_get(struct db *db, int64_t id, int64_t owner, struct payment *out)
{
	char sid[24], sowner[24];
	const char *p[] = {sid, sowner};

	db_fmt_int(sid, sizeof(sid), id);
	db_fmt_int(sowner, sizeof(sowner), owner);
	return one(db_exec(db,
	                   "SELECT " PAYMENT_COLUMNS " FROM payments "
	                   "WHERE id = $1 AND ($2::bigint = 0 OR user_id = $2)",
	                   2, p),
	           out);
}

enum store_status store_payment_list(struct db *db, int64_t owner, int64_t booking_id,
                                     int64_t limit, int64_t offset, struct payment **out, int *n,
                                     int64_t *total)
{
	char sowner[24], sbooking[24], slimit[24], soffset[24];
	const char *p[] = {sowner, sbooking, slimit, soffset};

	db_fmt_int(sowner, sizeof(sowner), owner);
	db_fmt_int(sbooking, sizeof(sbooking), booking_id);
	db_fmt_int(slimit, sizeof(slimit), limit);
	db_fmt_int(soffset, sizeof(soffset), offset);
	PGresult *res = db_exec(db,
	                        "SELECT " PAYMENT_COLUMNS ", count(*) OVER () FROM payments "
	                        "WHERE ($1::bigint = 0 OR user_id = $1) "
	                        "AND ($2::bigint = 0 OR booking_id = $2) "
	                        "ORDER BY id DESC LIMIT $3 OFFSET $4",
	                        4, p);
	*total = res && PQntuples(res) > 0 ? db_int(res, 0, NCOLUMNS) : 0;
	if (res && PQntuples(res) == 0 && offset > 0) {
		PGresult *c = db_exec(db,
		                      "SELECT count(*) FROM payments WHERE ($1::bigint = 0 OR "
		                      "user_id = $1) AND ($2::bigint = 0 OR booking_id = $2)",
		                      2, p);
		*total = c ? db_int(c, 0, 0) : 0;
		PQclear(c);
	}
	return all(res, out, n);
}

enum store_status store_payment_claim(struct db *db, int limit, struct payment **out, int *n)
{
	char slimit[16];
	const char *p[] = {slimit};

	snprintf(slimit, sizeof(slimit), "%d", limit);
	return all(db_exec(db,
	                   "UPDATE payments SET lease_until = now() + interval '30 seconds', "
	                   "attempts = attempts + 1, updated_at = now() WHERE id IN (SELECT id "
	                   "FROM payments WHERE status = 'pending' AND (lease_until IS NULL OR "
	                   "lease_until < now()) ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) "
	                   "RETURNING " PAYMENT_COLUMNS,
	                   1, p),
	           out, n);
}

enum store_status store_payment_settle(struct db *db, const struct payment *p, int approved,
                                       struct payment *out)
{
	char sid[24];
	const char *params[] = {sid};

	db_fmt_int(sid, sizeof(sid), p->id);
	if (!approved)
		return one(
		        db_exec(db,
		                "WITH s AS (UPDATE payments SET status = 'failed', failure_reason "
		                "= "
		                "'card declined', processed_at = now(), updated_at = now(), "
		                "lease_until = NULL WHERE id = $1 AND status = 'pending' RETURNING "
		                "*), "
		                "o AS (INSERT INTO outbox (event_id, service, path, payload) "
		                "  SELECT 'payment-failed-' || s.id, 'notifications', "
		                "'/notifications', "
		                "  json_build_object('user_id', s.user_id, 'booking_id', "
		                "s.booking_id, "
		                "  'type', 'payment_failed', 'event_id', 'payment-failed-' || "
		                "s.id, "
		                "  'message', format('Your payment of %s for booking %s was "
		                "declined. The seat stays held until the hold ends; you may pay "
		                "with another card.', to_char(s.amount_cents / 100.0, "
		                "'FM9999999990.00'), "
		                "  s.booking_id))::text FROM s ON CONFLICT (event_id) DO NOTHING) "
		                "SELECT " PAYMENT_COLUMNS " FROM s",
		                1, params),
		        out);
	return one(db_exec(db,
	                   "WITH s AS (UPDATE payments SET status = 'succeeded', processed_at = "
	                   "now(), updated_at = now(), lease_until = NULL WHERE id = $1 AND "
	                   "status = 'pending' RETURNING *), "
	                   "o AS (INSERT INTO outbox (event_id, service, path, payload) "
	                   "  SELECT 'confirm-' || s.id, 'bookings', "
	                   "  '/internal/bookings/' || s.booking_id || '/confirm', "
	                   "  json_build_object('payment_id', s.id, 'event_id', 'confirm-' || "
	                   "  s.id)::text FROM s ON CONFLICT (event_id) DO NOTHING) "
	                   "SELECT " PAYMENT_COLUMNS " FROM s",
	                   1, params),
	           out);
}

enum store_status store_payment_refunded(struct db *db, int64_t id, struct payment *out)
{
	char sid[24];
	const char *p[] = {sid};

	db_fmt_int(sid, sizeof(sid), id);
	return one(db_exec(db,
	                   "UPDATE payments SET status = 'refunded', refunded_at = now(), "
	                   "updated_at = now() WHERE id = $1 AND status = 'succeeded' "
	                   "RETURNING " PAYMENT_COLUMNS,
	                   1, p),
	           out);
}

enum store_status store_payment_succeeded_for(struct db *db, int64_t booking_id,
                                              struct payment *out)
{
	char sid[24];
	const char *p[] = {sid};

	db_fmt_int(sid, sizeof(sid), booking_id);
	return one(db_exec(db,
	                   "SELECT " PAYMENT_COLUMNS " FROM payments WHERE booking_id = $1 "
	                   "AND status = 'succeeded'",
	                   1, p),
	           out);
}
