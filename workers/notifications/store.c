/* store.c - SQL of the notifications pool. Constant statements with $n
 * parameters; rows are copied into struct notification. Creating a row
 * and waking the mailer are one statement (pg_notify in RETURNING), so
 * the mailer hears of exactly the rows that were committed. */
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "mem.h"
#include "store.h"

#define ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
#define COLUMNS                                                                                    \
	"id, user_id, coalesce(booking_id, 0), type, message, status, " ISO(                       \
	        "created_at") ", coalesce(" ISO("sent_at") ", '')"
#define NCOLUMNS 8
#define FILTER                                                                                     \
	"WHERE ($1::bigint = 0 OR user_id = $1) AND ($2::text IS NULL OR type = $2) "              \
	"AND ($3::text IS NULL OR status = $3) "

static void read_row(const PGresult *res, int row, void *out)
{
	struct notification *n = out;

	memset(n, 0, sizeof(*n));
	n->id = db_int(res, row, 0);
	n->user_id = db_int(res, row, 1);
	n->booking_id = db_int(res, row, 2);
	db_text(n->type, sizeof(n->type), res, row, 3);
	db_text(n->message, sizeof(n->message), res, row, 4);
	db_text(n->status, sizeof(n->status), res, row, 5);
	db_text(n->created_at, sizeof(n->created_at), res, row, 6);
	db_text(n->sent_at, sizeof(n->sent_at), res, row, 7);
}

static enum store_status one(PGresult *res, struct notification *out)
{
	return db_one(res, read_row, out);
}

static enum store_status by_event(struct db *db, const char *event_key, struct notification *out)
{
	const char *p[] = {event_key};

	return one(db_exec(db, "SELECT " COLUMNS " FROM notifications WHERE event_id = $1", 1, p),
	           out);
}

enum store_status store_notification_create(struct db *db, const struct notification *n,
                                            const char *event_key, struct notification *out,
                                            int *created)
{
	char user[24], booking[24];
	const char *p[] = {user, n->booking_id ? booking : NULL, n->type, n->message, event_key};

	*created = 0;
	db_fmt_int(user, sizeof(user), n->user_id);
	db_fmt_int(booking, sizeof(booking), n->booking_id);
	PGresult *res = db_exec(db,
	                        "INSERT INTO notifications (user_id, booking_id, type, message, "
	                        "event_id) VALUES ($1, $2, $3, $4, $5) "
	                        "ON CONFLICT (event_id) DO NOTHING "
	                        "RETURNING " COLUMNS ", pg_notify('mail_queued', id::text)",
	                        5, p);
	enum store_status st = one(res, out);
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
	char sid[24], sowner[24];
	const char *p[] = {sid, sowner};

	db_fmt_int(sid, sizeof(sid), id);
	db_fmt_int(sowner, sizeof(sowner), owner);
	return one(db_exec(db,
	                   "SELECT " COLUMNS " FROM notifications "
	                   "WHERE id = $1 AND ($2::bigint = 0 OR user_id = $2)",
	                   2, p),
	           out);
}

static enum store_status all(PGresult *res, struct notification **out, int *n)
{
	return db_all(res, read_row, sizeof(**out), (void **)out, n);
}

/* The count for a page past the end, where no row carries it. */
static int64_t count_all(struct db *db, const char *const *p)
{
	PGresult *res = db_exec(db, "SELECT count(*) FROM notifications " FILTER, 3, p);
	int64_t n = res ? db_int(res, 0, 0) : 0;

	PQclear(res);
	return n;
}

enum store_status store_notification_list(struct db *db, const struct notification_filter *f,
                                          struct notification **out, int *n, int64_t *total)
{
	char user[24], limit[24], offset[24];
	const char *p[] = {user, f->type, f->status, limit, offset};

	db_fmt_int(user, sizeof(user), f->user_id);
	db_fmt_int(limit, sizeof(limit), f->limit);
	db_fmt_int(offset, sizeof(offset), f->offset);
	PGresult *res = db_exec(db,
	                        "SELECT " COLUMNS ", count(*) OVER () FROM notifications " FILTER
	                        "ORDER BY id DESC LIMIT $4 OFFSET $5",
	                        5, p);
	*total = res && PQntuples(res) > 0 ? db_int(res, 0, NCOLUMNS) : 0;
	if (res && PQntuples(res) == 0 && f->offset > 0)
		*total = count_all(db, p);
	return all(res, out, n);
}
