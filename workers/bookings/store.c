/* store.c - SQL of the bookings service. Constant statements with $n
 * parameters; rows are copied into struct booking. The seat decision is
 * the INSERT ... ON CONFLICT against the partial unique index on live
 * seats (booking_seats_live, a row per passenger), made with the rest of
 * a hold by the SQL function booking_hold (sql/bookings/007), in one round
 * trip; everything else here is bookkeeping around it. Every statement that ends a booking (expiry,
 * cancellation) also sets its seats' live to false. A change that
 * others must hear of (expiry, confirmation, cancellation) writes its
 * events in the same statement, in the receivers' formats
 * (notifications/event.h, payments/event.h). */
#include <json-c/json.h>
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "buf.h"
#include "db.h"
#include "mem.h"
#include "notifications/event.h"
#include "payments/event.h"
#include "store.h"

/* The columns read_row reads, in its order. */
/* clang-format off */
#define ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
#define EFFECTIVE_STATUS \
	"CASE WHEN status = 'pending' AND hold_expires_at <= now() THEN 'expired' ELSE status END"
#define BASE_COLUMNS \
	"id, reference, user_id, flight_id, seat_number, " \
	EFFECTIVE_STATUS ", " \
	"total_cents, " \
	ISO("hold_expires_at") ", " \
	"coalesce(payment_id, 0), " \
	ISO("created_at") ", " \
	"coalesce(" ISO("cancelled_at") ", ''), " \
	"coalesce(lock_token, ''), " \
	"coalesce(request_id, ''), " \
	"coalesce(departure_time <= now(), false), " \
	"coalesce(origin, ''), coalesce(destination, ''), " \
	"coalesce(" ISO("departure_time") ", '')"
/* Every passenger of the row's booking (its id), in their order, as JSON. */
#define PASSENGERS_JSON \
	"(SELECT json_agg(json_build_object('n', s.full_name, 's', s.seat_number, " \
	"                                   'c', s.cabin, 'p', s.price_cents) " \
	"                 ORDER BY s.position) " \
	" FROM booking_seats s WHERE s.booking_id = id)"
/* A booking with its passengers; what read_seat reads of a seat's row
 * (seat_bookings). */
#define BOOKING_COLUMNS BASE_COLUMNS ", " PASSENGERS_JSON
#define SEAT_COLUMNS    "id, flight_id, seat_number, " EFFECTIVE_STATUS
/* The live seats: a live row of a booking that still holds. */
#define HOLDS_SEAT \
	"live AND (status = 'confirmed' OR (status = 'pending' AND hold_expires_at > now()))"
/* The seats of cte's booking, as display text ("12A, 12B"). */
#define SEATS_TEXT(cte) \
	"(SELECT string_agg(s.seat_number, ', ' ORDER BY s.position) " \
	" FROM booking_seats s WHERE s.booking_id = " cte ".id)"
/* The passengers of cte's booking for the confirmation e-mail, when it
 * has more than one ("Ada Lovelace, seat 12A (business); ..."), else
 * NULL: a one-seat booking's e-mail reads as it always did. */
#define PASSENGERS_TEXT(cte) \
	"(SELECT CASE WHEN count(*) > 1 THEN " \
	"  string_agg(coalesce(s.full_name, '?') || ', seat ' || s.seat_number " \
	"             || coalesce(' (' || replace(s.cabin, '_', ' ') || ')', ''), " \
	"             '; ' ORDER BY s.position) END " \
	" FROM booking_seats s WHERE s.booking_id = " cte ".id)"
/* clang-format on */

/* The facts of a notification about a booking row of cte, as display
 * text under the keys notifications/event.h gives for its type. */
/* clang-format off */
#define FLIGHT_TEXT(cte) "coalesce(" cte ".flight_number, 'flight ' || " cte ".flight_id)"
#define HOLD_EXPIRED_DATA(cte) \
	"json_build_object(" \
	"  'seat', " SEATS_TEXT(cte) ", " \
	"  'flight', " FLIGHT_TEXT(cte) ", " \
	"  'reference', " cte ".reference)"
#define CONFIRMATION_DATA(cte) \
	"json_build_object(" \
	"  'reference', " cte ".reference, " \
	"  'flight', " FLIGHT_TEXT(cte) ", " \
	"  'origin', coalesce(" cte ".origin, '?'), " \
	"  'destination', coalesce(" cte ".destination, '?'), " \
	"  'departure', coalesce(to_char(" cte ".departure_time AT TIME ZONE 'UTC', " \
	"                                'YYYY-MM-DD HH24:MI'), '?'), " \
	"  'seat', " cte ".seat_number, " \
	"  'passengers', " PASSENGERS_TEXT(cte) ", " \
	"  'total', to_char(" cte ".total_cents / 100.0, 'FM9999999990.00'))"
#define CANCELLATION_DATA(cte) \
	"json_build_object(" \
	"  'reference', " cte ".reference, " \
	"  'seat', " SEATS_TEXT(cte) ", " \
	"  'flight', " FLIGHT_TEXT(cte) ", " \
	"  'refund', CASE WHEN " cte ".was = 'confirmed' THEN 'yes' ELSE 'no' END)"

/* The "hold expired" e-mail of each expired row of cte. It can wait
 * behind confirmations (a wave of expiries must not delay them):
 * OUTBOX_BULK. */
#define HOLD_EXPIRED_EVENT(cte) \
	NOTIFICATION_EVENT_SQL_AT(OUTBOX_BULK, "'hold-expired-' || " cte ".id", "hold_expired", \
	                       cte ".user_id", cte ".id", HOLD_EXPIRED_DATA(cte), \
	                       cte ".request_id", cte)
/* clang-format on */

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

/* The passengers of column col (PASSENGERS_JSON) into b; none when NULL. */
static void read_passengers(const PGresult *res, int row, int col, struct booking *b)
{
	if (col >= PQnfields(res) || PQgetisnull(res, row, col))
		return;
	struct json_object *list = json_tokener_parse(PQgetvalue(res, row, col)), *v;
	size_t n = json_object_is_type(list, json_type_array) ? json_object_array_length(list) : 0;
	for (size_t i = 0; i < n && i < BOOKING_PASSENGERS_MAX; i++) {
		struct json_object *o = json_object_array_get_idx(list, i);
		struct passenger *p = &b->passengers[b->npassengers++];
		if (json_object_object_get_ex(o, "n", &v) && v)
			snprintf(p->full_name, sizeof(p->full_name), "%s",
			         json_object_get_string(v));
		if (json_object_object_get_ex(o, "s", &v) && v)
			snprintf(p->seat_number, sizeof(p->seat_number), "%s",
			         json_object_get_string(v));
		if (json_object_object_get_ex(o, "c", &v) && v)
			snprintf(p->cabin, sizeof(p->cabin), "%s", json_object_get_string(v));
		if (json_object_object_get_ex(o, "p", &v) && v)
			p->price_cents = json_object_get_int64(v);
	}
	json_object_put(list);
}

static void read_row(const PGresult *res, int row, void *out)
{
	struct booking *b = out;
	struct db_row c = DB_ROW(res, row);

	memset(b, 0, sizeof(*b));
	b->id = db_next_int(&c);
	DB_NEXT_TEXT(&c, b->reference);
	b->user_id = db_next_int(&c);
	b->flight_id = db_next_int(&c);
	DB_NEXT_TEXT(&c, b->seat_number);
	DB_NEXT_TEXT(&c, b->status);
	b->total_cents = db_next_int(&c);
	DB_NEXT_TEXT(&c, b->hold_expires_at);
	b->payment_id = db_next_int(&c);
	DB_NEXT_TEXT(&c, b->created_at);
	DB_NEXT_TEXT(&c, b->cancelled_at);
	DB_NEXT_TEXT(&c, b->lock_token);
	DB_NEXT_TEXT(&c, b->request_id);
	char departed[4];
	DB_NEXT_TEXT(&c, departed);
	b->departed = departed[0] == 't';
	DB_NEXT_TEXT(&c, b->origin);
	DB_NEXT_TEXT(&c, b->destination);
	DB_NEXT_TEXT(&c, b->departure_time);
	read_passengers(res, row, c.col, b);
}

static void read_seat(const PGresult *res, int row, void *out)
{
	struct seat_row *s = out;
	struct db_row c = DB_ROW(res, row);

	memset(s, 0, sizeof(*s));
	s->booking_id = db_next_int(&c);
	s->flight_id = db_next_int(&c);
	DB_NEXT_TEXT(&c, s->seat_number);
	DB_NEXT_TEXT(&c, s->status);
}

static enum store_status seats(PGresult *res, struct seat_row **out, int *n)
{
	return db_all(res, read_seat, sizeof(**out), (void **)out, n);
}

static enum store_status one(PGresult *res, struct booking *out)
{
	return db_one(res, read_row, out);
}

static enum store_status all(PGresult *res, struct booking **out, int *n)
{
	return db_all(res, read_row, sizeof(**out), (void **)out, n);
}

/* ---- the create transaction ---- */

/* The overdue holds on the seats (an array literal) give way, every seat
 * of each (and their owners hear of it). */
static enum store_status expire_seats(struct db *db, int64_t flight_id, const char *seats)
{
	/* clang-format off */
	return db_do(db_query(db,
		"WITH e AS ("
		"  UPDATE bookings SET status = 'expired', updated_at = now() "
		"  WHERE id IN (SELECT booking_id FROM booking_seats "
		"               WHERE flight_id = $1 AND seat_number = ANY($2::text[]) AND live) "
		"    AND status = 'pending' AND hold_expires_at <= now() "
		"  RETURNING *), "
		"f AS (UPDATE booking_seats SET live = false "
		"      WHERE booking_id IN (SELECT id FROM e)) "
		HOLD_EXPIRED_EVENT("e"),
		DB_INT(flight_id), DB_TEXT(seats)));
	/* clang-format on */
}

/* b's seats as a ::text[] parameter (db_text_array) into out. */
static void seats_literal(const struct booking *b, struct buf *out)
{
	const char *seats[BOOKING_PASSENGERS_MAX];

	for (int i = 0; i < b->npassengers; i++)
		seats[i] = b->passengers[i].seat_number;
	db_text_array(out, seats, b->npassengers);
}

/* b's passengers as the rows booking_hold reads (malloc'd). */
static char *seats_json(const struct booking *b)
{
	struct json_object *list = json_object_new_array();

	for (int i = 0; i < b->npassengers; i++) {
		const struct passenger *p = &b->passengers[i];
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "o", json_object_new_int(i + 1));
		json_object_object_add(o, "s", json_object_new_string(p->seat_number));
		json_object_object_add(o, "n",
		                       *p->full_name ? json_object_new_string(p->full_name) : NULL);
		json_object_object_add(o, "c", *p->cabin ? json_object_new_string(p->cabin) : NULL);
		json_object_object_add(o, "p", json_object_new_int64(p->price_cents));
		json_object_object_add(o, "i", json_object_new_int(p->seat_index));
		json_object_array_add(list, o);
	}
	char *text = xstrdup(json_object_to_json_string_ext(list, JSON_C_TO_STRING_PLAIN));
	json_object_put(list);
	return text;
}

/* Fresh references to try in turn, as a ::text[] parameter into out: a
 * clash (rare) takes the next. */
#define HOLD_REFS 5
static void refs_literal(struct buf *out)
{
	char refs[HOLD_REFS][8];
	const char *items[HOLD_REFS];

	for (int i = 0; i < HOLD_REFS; i++) {
		new_reference(refs[i]);
		items[i] = refs[i];
	}
	db_text_array(out, items, HOLD_REFS);
}

/* The hold in one statement (booking_hold, sql/bookings/007): the user's
 * creates serialised, the hold count checked, the row under a fresh
 * reference, its seats in seat order judged by the partial unique index
 * on live seats, all or none. The new row is read from what the function
 * returns: its own statements' rows are not in this statement's snapshot.
 * Columns: read_row's, then the outcome and the taken seats, by name. */
/* clang-format off */
static const char hold_sql[] =
	"SELECT " BASE_COLUMNS ", passengers, outcome, coalesce(taken, '') AS taken FROM ("
	"  SELECT (h.booking).*, h.passengers, h.outcome, h.taken "
	"  FROM booking_hold($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, "
	"                    $16) h) x";
/* clang-format on */

/* One call of booking_hold: CREATE_OK with out, CREATE_SEAT_TAKEN (taken
 * named), CREATE_TOO_MANY_HOLDS, CREATE_ERROR; *overdue when the seats
 * were taken by overdue holds (expire them, then try again). */
static enum create_result hold(struct db *db, const struct booking *b, int max_holds,
                               int hold_seconds, struct booking *out, char *taken, size_t takenlen,
                               int *overdue)
{
	char outcome[16];
	char *rows = seats_json(b);
	struct buf refs;

	buf_init(&refs);
	refs_literal(&refs);
	PGresult *res =
	        db_query(db, hold_sql, DB_INT(b->user_id), DB_INT(b->flight_id), DB_INT(max_holds),
	                 DB_INT(hold_seconds), DB_TEXT(buf_str(&refs)), DB_TEXT(b->seat_number),
	                 DB_INT(b->total_cents), DB_TEXT(b->lock_token), DB_TEXT(b->flight_number),
	                 DB_TEXT(b->origin), DB_TEXT(b->destination), DB_TEXT(b->departure_time),
	                 DB_TEXT(b->request_id), DB_TEXT(b->idempotency_key),
	                 DB_TEXT(b->request_hash), DB_TEXT(rows));
	free(rows);
	buf_release(&refs);
	*overdue = 0;
	if (res == NULL)
		return CREATE_ERROR;
	int outcome_col = PQfnumber(res, "outcome"), taken_col = PQfnumber(res, "taken");
	if (PQntuples(res) != 1 || outcome_col < 0 || taken_col < 0) {
		PQclear(res);
		return CREATE_ERROR;
	}
	db_text(outcome, sizeof(outcome), res, 0, outcome_col);
	enum create_result rc = CREATE_ERROR;
	if (strcmp(outcome, "ok") == 0) {
		read_row(res, 0, out);
		rc = CREATE_OK;
	} else if (strcmp(outcome, "taken") == 0 || strcmp(outcome, "overdue") == 0) {
		db_text(taken, takenlen, res, 0, taken_col);
		*overdue = outcome[0] == 'o';
		rc = CREATE_SEAT_TAKEN;
	} else if (strcmp(outcome, "too_many") == 0) {
		rc = CREATE_TOO_MANY_HOLDS;
	}
	PQclear(res);
	return rc;
}

/* One round trip when nothing is to be recorded before COMMIT and no
 * overdue hold is in the way (booking_hold is one statement, its own
 * transaction); else BEGIN, [expire the overdue holds on the seats,]
 * booking_hold, before_commit, COMMIT, as one transaction. */
enum create_result store_booking_create(struct db *db, const struct booking *b, int max_holds,
                                        int hold_seconds, store_before_commit before_commit,
                                        void *ctx, struct booking *out, char *taken,
                                        size_t takenlen)
{
	int in_tx = before_commit != NULL, overdue = 0;

	if (b->npassengers < 1 || b->npassengers > BOOKING_PASSENGERS_MAX)
		return CREATE_ERROR;
	if (in_tx && db_run(db, "BEGIN") < 0)
		return CREATE_ERROR;
	enum create_result rc =
	        hold(db, b, max_holds, hold_seconds, out, taken, takenlen, &overdue);
	if (rc == CREATE_SEAT_TAKEN && overdue) {
		/* the overdue holds give way, in the transaction of the hold */
		struct buf seats;
		if (!in_tx && db_run(db, "BEGIN") < 0)
			return CREATE_ERROR;
		in_tx = 1;
		buf_init(&seats);
		seats_literal(b, &seats);
		rc = expire_seats(db, b->flight_id, buf_str(&seats)) != STORE_OK
		             ? CREATE_ERROR
		             : hold(db, b, max_holds, hold_seconds, out, taken, takenlen, &overdue);
		buf_release(&seats);
	}
	if (!in_tx)
		return rc;
	if (rc == CREATE_OK && before_commit && before_commit(db, out, ctx) < 0)
		rc = CREATE_ERROR;
	if (rc != CREATE_OK || db_run(db, "COMMIT") < 0) {
		db_run(db, "ROLLBACK");
		return rc == CREATE_OK ? CREATE_ERROR : rc;
	}
	return CREATE_OK;
}

/* ---- reads ---- */

enum store_status store_booking_by_key(struct db *db, int64_t user_id, const char *key,
                                       struct booking *out, char *hash, size_t hashlen)
{
	/* clang-format off */
	PGresult *res = db_query(db,
		"SELECT " BOOKING_COLUMNS ", coalesce(request_hash, '') FROM bookings "
		"WHERE user_id = $1 AND idempotency_key = $2 "
		"  AND created_at > now() - interval '24 hours' "
		"ORDER BY id DESC LIMIT 1",
		DB_INT(user_id), DB_TEXT(key));
	/* clang-format on */
	if (res == NULL)
		return STORE_ERROR;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return STORE_NOT_FOUND;
	}
	read_row(res, 0, out);
	db_text(hash, hashlen, res, 0, PQnfields(res) - 1);
	PQclear(res);
	return STORE_OK;
}

enum store_status store_booking_get(struct db *db, int64_t id, int64_t owner, struct booking *out)
{
	/* clang-format off */
	return one(db_query(db,
		"SELECT " BOOKING_COLUMNS " FROM bookings "
		"WHERE id = $1 AND ($2::bigint IS NULL OR user_id = $2)",
		DB_INT(id), DB_ID(owner)),
		out);
	/* clang-format on */
}

/* Bookings of $1 user, $2 flight, $3 effective status and $6 reference
 * (NULL = any), newest first, $4 rows from row $5, and their total: what
 * DB_PAGE_SQL gives, written out so that only the page's rows read their
 * passengers (the count of an admin's list runs over every booking). */
/* clang-format off */
static const char list_sql[] =
	"WITH m AS ("
	"  SELECT " BASE_COLUMNS " FROM bookings "
	"  WHERE ($1::bigint IS NULL OR user_id = $1) "
	"    AND ($2::bigint IS NULL OR flight_id = $2) "
	"    AND ($3::text IS NULL OR " EFFECTIVE_STATUS " = $3) "
	"    AND ($6::text IS NULL OR reference = $6)) "
	"SELECT p.*, t.total FROM (SELECT count(*) AS total FROM m) t "
	"LEFT JOIN LATERAL (SELECT m.*, " PASSENGERS_JSON " FROM m "
	"                   ORDER BY id DESC LIMIT $4 OFFSET $5) p ON true";
/* clang-format on */

enum store_status store_booking_list(struct db *db, const struct booking_filter *f,
                                     struct booking **out, int *n, int64_t *total)
{
	PGresult *res =
	        db_query(db, list_sql, DB_ID(f->user_id), DB_ID(f->flight_id), DB_TEXT(f->status),
	                 DB_INT(f->limit), DB_INT(f->offset), DB_TEXT(f->reference));

	return db_page(res, read_row, sizeof(**out), (void **)out, n, total);
}

/* ---- changes and the events they announce ---- */

/* Cancel $1 (of owner $2, NULL = any) if live, as request $3; its
 * previous status, the e-mail and, when it was paid for, the refund
 * request. */
/* clang-format off */
static const char cancel_sql[] =
	"WITH old AS ("
	"  SELECT id, status AS was FROM bookings "
	"  WHERE id = $1 AND ($2::bigint IS NULL OR user_id = $2) "
	"    AND (status = 'confirmed' OR (status = 'pending' AND hold_expires_at > now())) "
	"  FOR UPDATE), "
	"c AS ("
	"  UPDATE bookings b SET status = 'cancelled', cancelled_at = now(), updated_at = now(), "
	"                        request_id = NULLIF($3, '') "
	"  FROM old WHERE b.id = old.id "
	"  RETURNING b.*, old.was), "
	"s AS (UPDATE booking_seats bs SET live = false FROM c WHERE bs.booking_id = c.id), "
	"paid AS (SELECT * FROM c WHERE was = 'confirmed'), "
	"n AS (" NOTIFICATION_EVENT_SQL("'booking-cancelled-' || c.id", "booking_cancellation",
	                                "c.user_id", "c.id", CANCELLATION_DATA("c"), "c.request_id",
	                                "c") "), "
	"r AS (" PAYMENT_REFUND_EVENT_SQL("'refund-booking-' || paid.id", "paid.id",
	                                  "paid.request_id", "paid") ") "
	"SELECT was FROM c";
/* clang-format on */

enum store_status store_booking_cancel(struct db *db, int64_t id, int64_t owner,
                                       const char *request_id, struct booking *out, char *was,
                                       size_t waslen)
{
	PGresult *res = db_query(db, cancel_sql, DB_INT(id), DB_ID(owner), DB_TEXT(request_id));

	if (res == NULL)
		return STORE_ERROR;
	int done = PQntuples(res) > 0;
	if (done)
		db_text(was, waslen, res, 0, 0);
	PQclear(res);
	enum store_status st = store_booking_get(db, id, owner, out);
	if (st != STORE_OK)
		return st;
	return done ? STORE_OK : STORE_CONFLICT;
}

/* Confirm $1 by payment $2 if its hold is live, as request $3, with the e-mail. */
/* clang-format off */
static const char confirm_sql[] =
	"WITH c AS ("
	"  UPDATE bookings SET status = 'confirmed', payment_id = $2, updated_at = now(), "
	"                      request_id = NULLIF($3, '') "
	"  WHERE id = $1 AND status = 'pending' AND hold_expires_at > now() "
	"  RETURNING *), "
	"n AS (" NOTIFICATION_EVENT_SQL("'booking-confirmed-' || c.id", "booking_confirmation",
	                                "c.user_id", "c.id", CONFIRMATION_DATA("c"), "c.request_id",
	                                "c") ") "
	"SELECT " BOOKING_COLUMNS " FROM c";
/* clang-format on */

enum store_status store_booking_confirm(struct db *db, int64_t id, int64_t payment_id,
                                        const char *request_id, struct booking *out)
{
	enum store_status st =
	        one(db_query(db, confirm_sql, DB_INT(id), DB_INT(payment_id), DB_TEXT(request_id)),
	            out);

	if (st != STORE_NOT_FOUND)
		return st;
	st = store_booking_get(db, id, 0, out);
	if (st != STORE_OK)
		return st;
	if (strcmp(out->status, "confirmed") == 0 && out->payment_id == payment_id)
		return STORE_OK;
	return STORE_CONFLICT;
}

/* ---- seats ---- */

enum store_status store_live_seats(struct db *db, int64_t flight_id, struct seat_row **out, int *n)
{
	/* clang-format off */
	return seats(db_query(db,
		"SELECT " SEAT_COLUMNS " FROM seat_bookings "
		"WHERE flight_id = $1 AND " HOLDS_SEAT,
		DB_INT(flight_id)),
		out, n);
	/* clang-format on */
}

enum store_status store_occupancy(struct db *db, const char *ids, struct seat_row **out, int *n)
{
	/* clang-format off */
	return seats(db_query(db,
		"SELECT " SEAT_COLUMNS " FROM seat_bookings "
		"WHERE flight_id = ANY($1::bigint[]) AND " HOLDS_SEAT,
		DB_TEXT(ids)),
		out, n);
	/* clang-format on */
}

/* Expire up to $1 overdue holds (oldest first, skipping rows another
 * sweeper holds), with their e-mails. */
/* clang-format off */
static const char expire_sql[] =
	"WITH e AS ("
	"  UPDATE bookings SET status = 'expired', updated_at = now() "
	"  WHERE id IN (SELECT id FROM bookings "
	"               WHERE status = 'pending' AND hold_expires_at <= now() "
	"               ORDER BY hold_expires_at "
	"               LIMIT $1 FOR UPDATE SKIP LOCKED) "
	"  RETURNING *), "
	"f AS (UPDATE booking_seats SET live = false WHERE booking_id IN (SELECT id FROM e)), "
	"n AS (" HOLD_EXPIRED_EVENT("e") ") "
	"SELECT " BOOKING_COLUMNS " FROM e";
/* clang-format on */

enum store_status store_expire_holds(struct db *db, int limit, struct booking **out, int *n)
{
	return all(db_query(db, expire_sql, DB_INT(limit)), out, n);
}

/* The live seat map's republish (live.h). The window ends 1.5 s ago, so
 * that a transaction that set updated_at just before committing is seen
 * committed; the live booking of a seat is found by the partial unique
 * index on live seats, the changed bookings by bookings_updated, and each
 * of their seats is a row of seat_bookings. */
/* clang-format off */
static const char changed_sql[] =
	"WITH c AS (SELECT * FROM seat_bookings "
	"           WHERE updated_at > coalesce(nullif($1, '')::timestamptz, "
	"                                       $2::timestamptz - interval '30 s') "
	"             AND updated_at <= $2::timestamptz), "
	"s AS (SELECT DISTINCT flight_id, seat_number FROM c), "
	"x AS (SELECT v.*, 1 AS pri FROM seat_bookings v JOIN s USING (flight_id, seat_number) "
	"      WHERE v.live "
	"      UNION ALL SELECT c.*, 0 FROM c) "
	"SELECT DISTINCT ON (flight_id, seat_number) " SEAT_COLUMNS " FROM x "
	"ORDER BY flight_id, seat_number, pri DESC, id DESC";
/* clang-format on */

enum store_status store_seats_changed(struct db *db, char *since, size_t sincelen,
                                      struct seat_row **out, int *n)
{
	char until[40];
	PGresult *res = db_exec(db, "SELECT (now() - interval '1500 milliseconds')::text", 0, NULL);

	if (res == NULL || PQntuples(res) != 1) {
		if (res)
			PQclear(res);
		return STORE_ERROR;
	}
	snprintf(until, sizeof(until), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	enum store_status st =
	        seats(db_query(db, changed_sql, DB_TEXT(since), DB_TEXT(until)), out, n);
	if (st == STORE_OK)
		snprintf(since, sincelen, "%s", until);
	return st;
}

static void read_route(const PGresult *res, int row, void *out)
{
	struct flight_route *f = out;
	struct db_row c = DB_ROW(res, row);

	memset(f, 0, sizeof(*f));
	f->flight_id = db_next_int(&c);
	DB_NEXT_TEXT(&c, f->origin);
	DB_NEXT_TEXT(&c, f->destination);
	DB_NEXT_TEXT(&c, f->date);
}

enum store_status store_flight_routes(struct db *db, const int64_t *ids, int n,
                                      struct flight_route **out, int *nout)
{
	struct buf list;

	buf_init(&list);
	db_int_array(&list, ids, n);
	/* clang-format off */
	enum store_status st = db_all(db_query(db,
		"SELECT f.id, b.origin, b.destination, "
		"       coalesce(to_char(b.departure_time AT TIME ZONE 'UTC', 'YYYY-MM-DD'), '') "
		"FROM unnest($1::bigint[]) AS f(id) CROSS JOIN LATERAL "
		"  (SELECT origin, destination, departure_time FROM bookings "
		"   WHERE flight_id = f.id ORDER BY id DESC LIMIT 1) b",
		DB_TEXT(buf_str(&list))),
		read_route, sizeof(**out), (void **)out, nout);
	/* clang-format on */
	buf_release(&list);
	return st;
}
