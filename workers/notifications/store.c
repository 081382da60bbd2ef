/* store.c - SQL of the notifications pool. Constant statements with $n
 * parameters; rows are copied into struct notification. Creating a row
 * and waking the mailer are one statement (pg_notify in RETURNING), so
 * the mailer hears of exactly the rows that were committed. */
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "store.h"

#define ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
/* The columns read_row reads, in its order; named, so that a list page
 * (DB_PAGE_SQL) can select them again. */
/* clang-format off */
#define COLUMNS \
	"id, user_id, coalesce(booking_id, 0) AS booking_id, type, message, status, " \
	ISO("created_at") " AS created_at, " \
	"coalesce(" ISO("sent_at") ", '') AS sent_at"
/* clang-format on */

static void read_row(const PGresult *res, int row, void *out)
{
	struct notification *n = out;
	struct db_row c = DB_ROW(res, row);

	memset(n, 0, sizeof(*n));
	n->id = db_next_int(&c);
	n->user_id = db_next_int(&c);
	n->booking_id = db_next_int(&c);
	DB_NEXT_TEXT(&c, n->type);
	DB_NEXT_TEXT(&c, n->message);
	DB_NEXT_TEXT(&c, n->status);
	DB_NEXT_TEXT(&c, n->created_at);
	DB_NEXT_TEXT(&c, n->sent_at);
}

static enum store_status by_event(struct db *db, const char *event_key, struct notification *out)
{
	PGresult *res = db_query(db, "SELECT " COLUMNS " FROM notifications WHERE event_id = $1",
	                         DB_TEXT(event_key));

	return db_one(res, read_row, out);
}

enum store_status store_notification_create(struct db *db, const struct notification *n,
                                            const char *event_key, struct notification *out,
                                            int *created)
{
	*created = 0;
	/* clang-format off */
	PGresult *res = db_query(db,
		"INSERT INTO notifications (user_id, booking_id, type, message, event_id, request_id) "
		"VALUES ($1, $2, $3, $4, $5, nullif($6, '')) "
		"ON CONFLICT (event_id) DO NOTHING "
		"RETURNING " COLUMNS ", pg_notify('mail_queued', id::text)",
		DB_INT(n->user_id), DB_ID(n->booking_id), DB_TEXT(n->type), DB_TEXT(n->message),
		DB_TEXT(event_key), DB_TEXT(n->request_id));
	/* clang-format on */
	enum store_status st = db_one(res, read_row, out);
	if (st == STORE_OK)
		*created = 1;
	/* nothing inserted: the event is already stored (committed, as the
	 * conflict waited for it) */
	if (st == STORE_NOT_FOUND)
		st = event_key ? by_event(db, event_key, out) : STORE_ERROR;
	return st == STORE_NOT_FOUND ? STORE_ERROR : st;
}

enum store_status store_notification_get(struct db *db, int64_t id, int64_t owner,
                                         struct notification *out)
{
	/* clang-format off */
	PGresult *res = db_query(db,
		"SELECT " COLUMNS " "
		"FROM notifications "
		"WHERE id = $1 AND ($2::bigint = 0 OR user_id = $2)",
		DB_INT(id), DB_INT(owner));
	/* clang-format on */
	return db_one(res, read_row, out);
}

/* Notifications of $1 user (0 = any), $2 type and $3 status (NULL =
 * any), newest first, $4 rows from row $5, and their total. */
/* clang-format off */
static const char list_sql[] = DB_PAGE_SQL(
	"SELECT " COLUMNS " "
	"FROM notifications "
	"WHERE ($1::bigint = 0 OR user_id = $1) "
	"  AND ($2::text IS NULL OR type = $2) "
	"  AND ($3::text IS NULL OR status = $3)",
	"ORDER BY id DESC", "$4", "$5");
/* clang-format on */

enum store_status store_notification_list(struct db *db, const struct notification_filter *f,
                                          struct notification **out, int *n, int64_t *total)
{
	void *rows = NULL;
	PGresult *res = db_query(db, list_sql, DB_INT(f->user_id), DB_TEXT(f->type),
	                         DB_TEXT(f->status), DB_INT(f->limit), DB_INT(f->offset));
	enum store_status st = db_page(res, read_row, sizeof(**out), &rows, n, total);

	*out = rows;
	return st;
}

enum store_status store_mail_backlog(struct db *db, int64_t *queued, double *oldest_seconds)
{
	/* the partial index notifications_due holds exactly these rows */
	PGresult *res =
	        db_exec(db, DB_BACKLOG_SQL("notifications WHERE status = 'queued'"), 0, NULL);

	return db_backlog(res, queued, oldest_seconds);
}
