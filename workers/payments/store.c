/* store.c - SQL of the payments service: payments, their claims and
 * refunds, and the gateway simulator's ledger. Constant statements with
 * $n parameters. A payment's result and the event announcing it are
 * written by one statement, so neither can exist without the other; the
 * events' formats are their receivers' (bookings/event.h,
 * notifications/event.h). */
#include <stdlib.h>
#include <string.h>

#include "bookings/event.h"
#include "db.h"
#include "notifications/event.h"
#include "store.h"

#define ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
/* The columns read_row reads, in its order; named, so that a list page
 * (DB_PAGE_SQL) can select them again. */
/* clang-format off */
#define PAYMENT_COLUMNS \
	"id, booking_id, user_id, amount_cents, payment_method, card_last4, card_brand, " \
	"gateway_token, status, coalesce(failure_reason, '') AS failure_reason, " \
	ISO("created_at") " AS created_at, " \
	"coalesce(" ISO("processed_at") ", '') AS processed_at, " \
	"coalesce(" ISO("refunded_at") ", '') AS refunded_at, " \
	"coalesce(request_id, '') AS request_id"
/* clang-format on */

static void read_row(const PGresult *res, int row, void *out)
{
	struct payment *p = out;
	struct db_row c = DB_ROW(res, row);

	memset(p, 0, sizeof(*p));
	p->id = db_next_int(&c);
	p->booking_id = db_next_int(&c);
	p->user_id = db_next_int(&c);
	p->amount_cents = db_next_int(&c);
	DB_NEXT_TEXT(&c, p->payment_method);
	DB_NEXT_TEXT(&c, p->card_last4);
	DB_NEXT_TEXT(&c, p->card_brand);
	DB_NEXT_TEXT(&c, p->gateway_token);
	DB_NEXT_TEXT(&c, p->status);
	DB_NEXT_TEXT(&c, p->failure_reason);
	DB_NEXT_TEXT(&c, p->created_at);
	DB_NEXT_TEXT(&c, p->processed_at);
	DB_NEXT_TEXT(&c, p->refunded_at);
	DB_NEXT_TEXT(&c, p->request_id);
}

static enum store_status one(PGresult *res, struct payment *out)
{
	return db_one(res, read_row, out);
}

enum store_status store_payment_create(struct db *db, const struct payment *p, struct payment *out)
{
	/* clang-format off */
	PGresult *res = db_query(db,
		"INSERT INTO payments (booking_id, user_id, amount_cents, payment_method,"
		"                      card_last4, card_brand, gateway_token, request_id) "
		"VALUES ($1, $2, $3, $4, $5, $6, $7, nullif($8, '')) "
		"ON CONFLICT (booking_id) WHERE status IN ('pending', 'succeeded') DO NOTHING "
		"RETURNING " PAYMENT_COLUMNS,
		DB_INT(p->booking_id), DB_INT(p->user_id), DB_INT(p->amount_cents),
		DB_TEXT(p->payment_method), DB_TEXT(p->card_last4), DB_TEXT(p->card_brand),
		DB_TEXT(p->gateway_token), DB_TEXT(p->request_id));
	/* clang-format on */
	enum store_status st = one(res, out);

	/* no row: ON CONFLICT skipped it */
	return st == STORE_NOT_FOUND ? STORE_CONFLICT : st;
}

enum store_status store_payment_get(struct db *db, int64_t id, int64_t owner, struct payment *out)
{
	/* clang-format off */
	PGresult *res = db_query(db,
		"SELECT " PAYMENT_COLUMNS " "
		"FROM payments "
		"WHERE id = $1 AND ($2::bigint = 0 OR user_id = $2)",
		DB_INT(id), DB_INT(owner));
	/* clang-format on */
	return one(res, out);
}

/* Payments of $1 owner (0 = anyone) and $2 booking (0 = any), newest
 * first, $3 rows from row $4, and their total. */
/* clang-format off */
static const char list_sql[] = DB_PAGE_SQL(
	"SELECT " PAYMENT_COLUMNS " "
	"FROM payments "
	"WHERE ($1::bigint = 0 OR user_id = $1) "
	"  AND ($2::bigint = 0 OR booking_id = $2)",
	"ORDER BY id DESC", "$3", "$4");
/* clang-format on */

enum store_status store_payment_list(struct db *db, int64_t owner, int64_t booking_id,
                                     int64_t limit, int64_t offset, struct payment **out, int *n,
                                     int64_t *total)
{
	void *rows = NULL;
	PGresult *res = db_query(db, list_sql, DB_INT(owner), DB_INT(booking_id), DB_INT(limit),
	                         DB_INT(offset));
	enum store_status st = db_page(res, read_row, sizeof(**out), &rows, n, total);

	*out = rows;
	return st;
}

enum store_status store_payment_claim(struct db *db, int limit, struct payment **out, int *n)
{
	void *rows = NULL;
	/* clang-format off */
	PGresult *res = db_query(db,
		"UPDATE payments "
		"SET lease_until = now() + interval '30 seconds', attempts = attempts + 1, "
		"    updated_at = now() "
		"WHERE id IN (SELECT id FROM payments "
		"             WHERE status = 'pending' "
		"               AND (lease_until IS NULL OR lease_until < now()) "
		"             ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) "
		"RETURNING " PAYMENT_COLUMNS,
		DB_INT(limit));
	/* clang-format on */
	enum store_status st = db_all(res, read_row, sizeof(**out), &rows, n);

	*out = rows;
	return st;
}

enum store_status store_payment_backlog(struct db *db, int64_t *pending, double *oldest_seconds)
{
	/* the partial index payments_pending holds exactly these rows */
	PGresult *res = db_exec(db, DB_BACKLOG_SQL("payments WHERE status = 'pending'"), 0, NULL);

	return db_backlog(res, pending, oldest_seconds);
}

/* A declined payment: failed, and the payment_failed notification. */
/* clang-format off */
static const char declined_sql[] =
	"WITH s AS ("
	"  UPDATE payments "
	"  SET status = 'failed', failure_reason = 'card declined', processed_at = now(), "
	"      updated_at = now(), lease_until = NULL "
	"  WHERE id = $1 AND status = 'pending' "
	"  RETURNING *), "
	"o AS (" NOTIFICATION_EVENT_SQL(
		"'payment-failed-' || s.id", "payment_failed", "s.user_id", "s.booking_id",
		"json_build_object("
		"  'booking', s.booking_id::text, "
		"  'amount', to_char(s.amount_cents / 100.0, 'FM9999999990.00'))",
		"s.request_id", "s") ") "
	"SELECT " PAYMENT_COLUMNS " FROM s";

/* An approved payment: succeeded, and the request that bookings confirm. */
static const char approved_sql[] =
	"WITH s AS ("
	"  UPDATE payments "
	"  SET status = 'succeeded', processed_at = now(), updated_at = now(), lease_until = NULL "
	"  WHERE id = $1 AND status = 'pending' "
	"  RETURNING *), "
	"o AS (" BOOKING_CONFIRM_EVENT_SQL(
		"'" STORE_CONFIRM_EVENT "' || s.id", "s.booking_id", "s.id", "s.request_id", "s") ") "
	"SELECT " PAYMENT_COLUMNS " FROM s";
/* clang-format on */

enum store_status store_payment_settle(struct db *db, const struct payment *p, int approved,
                                       struct payment *out)
{
	return one(db_query(db, approved ? approved_sql : declined_sql, DB_INT(p->id)), out);
}

enum store_status store_payment_refunded(struct db *db, int64_t id, struct payment *out)
{
	/* clang-format off */
	PGresult *res = db_query(db,
		"UPDATE payments "
		"SET status = 'refunded', refunded_at = now(), updated_at = now() "
		"WHERE id = $1 AND status = 'succeeded' "
		"RETURNING " PAYMENT_COLUMNS,
		DB_INT(id));
	/* clang-format on */
	return one(res, out);
}

enum store_status store_payment_succeeded_for(struct db *db, int64_t booking_id,
                                              struct payment *out)
{
	/* clang-format off */
	PGresult *res = db_query(db,
		"SELECT " PAYMENT_COLUMNS " "
		"FROM payments "
		"WHERE booking_id = $1 AND status = 'succeeded'",
		DB_INT(booking_id));
	/* clang-format on */
	return one(res, out);
}

/* ---- the gateway simulator's ledger ---- */

static void read_approved(const PGresult *res, int row, void *out)
{
	struct db_row c = DB_ROW(res, row);
	char v[8];

	DB_NEXT_TEXT(&c, v);
	*(int *)out = v[0] == 't';
}

enum store_status store_gateway_charge(struct db *db, const char *key, const char *token,
                                       int64_t amount_cents, int approve, int *approved)
{
	/* clang-format off */
	PGresult *res = db_query(db,
		"WITH n AS ("
		"  INSERT INTO gateway_charges (idempotency_key, token, amount_cents, approved) "
		"  VALUES ($1, $2, $3, $4) "
		"  ON CONFLICT (idempotency_key) DO NOTHING "
		"  RETURNING approved) "
		"SELECT approved FROM n "
		"UNION ALL "
		"SELECT approved FROM gateway_charges WHERE idempotency_key = $1 "
		"LIMIT 1",
		DB_TEXT(key), DB_TEXT(token), DB_INT(amount_cents),
		DB_TEXT(approve ? "true" : "false"));
	/* clang-format on */
	enum store_status st = db_one(res, read_approved, approved);

	return st == STORE_NOT_FOUND ? STORE_ERROR : st;
}

enum store_status store_gateway_refund(struct db *db, const char *key)
{
	/* clang-format off */
	return db_do(db_query(db,
		"UPDATE gateway_charges "
		"SET refunded_at = coalesce(refunded_at, now()) "
		"WHERE idempotency_key = $1 AND approved",
		DB_TEXT(key)));
	/* clang-format on */
}
