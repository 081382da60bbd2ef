/* store.c - SQL of the mailer. Claims and marks run on the worker's
 * connection (db.c: prepared, statement timeout, reconnect and retry);
 * the LISTEN runs on a raw libpq connection of its own, which must stay
 * idle in LISTEN and is only ever waited on. If it cannot be had, the
 * mailer polls. */
#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "buf.h"
#include "db.h"
#include "log.h"
#include "mem.h"
#include "store.h"

static void read_job(const PGresult *res, int row, void *out)
{
	struct mail_job *j = out;
	struct db_row c = DB_ROW(res, row);

	memset(j, 0, sizeof(*j));
	j->id = db_next_int(&c);
	j->user_id = db_next_int(&c);
	j->booking_id = db_next_int(&c);
	DB_NEXT_TEXT(&c, j->type);
	DB_NEXT_TEXT(&c, j->message);
	j->attempts = (int)db_next_int(&c);
	DB_NEXT_TEXT(&c, j->request_id);
	j->priority = (int)db_next_int(&c);
}

static int by_urgency(const void *a, const void *b)
{
	const struct mail_job *x = a, *y = b;

	if (x->priority != y->priority)
		return x->priority - y->priority;
	return (x->id > y->id) - (x->id < y->id);
}

enum store_status store_claim(struct db *db, int limit, int lease_seconds, struct mail_job **out,
                              int *n)
{
	void *rows = NULL;
	/* clang-format off */
	PGresult *res = db_query(db,
		"UPDATE notifications "
		"SET lease_until = now() + make_interval(secs => $2::int), attempts = attempts + 1 "
		"WHERE id IN (SELECT id FROM notifications "
		"             WHERE status = 'queued' AND next_attempt_at <= now() "
		"               AND (lease_until IS NULL OR lease_until < now()) "
		"             ORDER BY priority, id LIMIT $1 FOR UPDATE SKIP LOCKED) "
		"RETURNING id, user_id, coalesce(booking_id, 0), type, message, attempts, "
		"          coalesce(request_id, ''), priority",
		DB_INT(limit), DB_INT(lease_seconds));
	/* clang-format on */
	enum store_status st = db_all(res, read_job, sizeof(**out), &rows, n);

	*out = rows;
	/* RETURNING gives no order */
	if (st == STORE_OK)
		qsort(*out, (size_t)*n, sizeof(**out), by_urgency);
	return st;
}

enum store_status store_mark_sent(struct db *db, const int64_t *ids, const char *const *message_ids,
                                  int n)
{
	struct buf id_list, mid_list;

	if (n <= 0)
		return STORE_OK;
	buf_init(&id_list);
	buf_init(&mid_list);
	db_int_array(&id_list, ids, n);
	db_text_array(&mid_list, message_ids, n);
	/* clang-format off */
	enum store_status st = db_do(db_query(db,
		"UPDATE notifications AS n "
		"SET status = 'sent', sent_at = now(), message_id = s.mid, lease_until = NULL, "
		"    last_error = NULL "
		"FROM unnest($1::bigint[], $2::text[]) AS s(id, mid) "
		"WHERE n.id = s.id AND n.status = 'queued'",
		DB_TEXT(buf_str(&id_list)), DB_TEXT(buf_str(&mid_list))));
	/* clang-format on */
	buf_release(&id_list);
	buf_release(&mid_list);
	return st;
}

enum store_status store_mark_retry(struct db *db, int64_t id, int delay_seconds, const char *error)
{
	/* clang-format off */
	return db_do(db_query(db,
		"UPDATE notifications "
		"SET lease_until = NULL, last_error = $3, "
		"    next_attempt_at = now() + make_interval(secs => $2::int) "
		"WHERE id = $1 AND status = 'queued'",
		DB_INT(id), DB_INT(delay_seconds), DB_TEXT(error)));
	/* clang-format on */
}

enum store_status store_mark_failed(struct db *db, int64_t id, const char *error)
{
	/* clang-format off */
	return db_do(db_query(db,
		"UPDATE notifications "
		"SET status = 'failed', lease_until = NULL, last_error = $2 "
		"WHERE id = $1 AND status = 'queued'",
		DB_INT(id), DB_TEXT(error)));
	/* clang-format on */
}

enum store_status store_release(struct db *db, int64_t id)
{
	/* clang-format off */
	return db_do(db_query(db,
		"UPDATE notifications "
		"SET lease_until = NULL, attempts = greatest(attempts - 1, 0) "
		"WHERE id = $1 AND status = 'queued'",
		DB_INT(id)));
	/* clang-format on */
}

/* ---- LISTEN mail_queued ---- */

struct store_listener {
	PGconn *conn;
	char *url;
	int timeout_ms;
	int down; /* the outage was logged */
};

struct store_listener *store_listener_new(const char *url, int timeout_ms)
{
	struct store_listener *l = xcalloc(1, sizeof(*l));

	l->url = url ? xstrdup(url) : NULL;
	l->timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
	return l;
}

static void drop(struct store_listener *l)
{
	if (l->conn)
		PQfinish(l->conn);
	l->conn = NULL;
}

void store_listener_free(struct store_listener *l)
{
	if (l == NULL)
		return;
	drop(l);
	free(l->url);
	free(l);
}

static int listen_now(struct store_listener *l)
{
	char timeout[16];
	const char *keys[] = {"dbname", "connect_timeout", "keepalives", "application_name", NULL};
	const char *vals[] = {l->url, timeout, "1", "flightops-mailer-listen", NULL};

	if (l->url == NULL) {
		if (!l->down)
			log_info("no connection to listen on behind the pooler "
			         "(DATABASE_LISTEN_URL); polling");
		l->down = 1;
		return -1;
	}
	snprintf(timeout, sizeof(timeout), "%d", l->timeout_ms < 2000 ? 2 : l->timeout_ms / 1000);
	l->conn = PQconnectdbParams(keys, vals, 1);
	if (l->conn && PQstatus(l->conn) == CONNECTION_OK) {
		PGresult *res = PQexec(l->conn, "LISTEN mail_queued");
		int ok = res && PQresultStatus(res) == PGRES_COMMAND_OK;
		PQclear(res);
		if (ok)
			return 0;
	}
	if (!l->down)
		log_warn("cannot listen for queued mail; polling", "error",
		         l->conn ? PQerrorMessage(l->conn) : "out of memory");
	l->down = 1;
	drop(l);
	return -1;
}

/* Read what arrived: 1 when a notification was among it, 0 when not,
 * -1 when the connection broke (it is dropped). */
static int take_notifies(struct store_listener *l)
{
	PGnotify *note;
	int got = 0;

	if (PQconsumeInput(l->conn) == 0) {
		log_warn("listen connection lost", "error", PQerrorMessage(l->conn));
		l->down = 1;
		drop(l);
		return -1;
	}
	while ((note = PQnotifies(l->conn)) != NULL) {
		PQfreemem(note);
		got = 1;
	}
	return got;
}

int store_listener_ready(struct store_listener *l)
{
	if (l->conn == NULL && listen_now(l) < 0)
		return -1;
	if (l->down) {
		log_info("listening for queued mail");
		l->down = 0;
	}
	return take_notifies(l) < 0 ? -1 : 0;
}

int store_listener_wait(struct store_listener *l, int timeout_ms)
{
	long long deadline = clock_ms() + timeout_ms;

	if (l->conn == NULL) {
		struct timespec pause = {timeout_ms / 1000, (timeout_ms % 1000) * 1000000L};
		nanosleep(&pause, NULL);
		return 0;
	}
	for (;;) {
		int got = take_notifies(l);
		if (got != 0)
			return got > 0;
		long long left = deadline - clock_ms();
		if (left <= 0)
			return 0;
		struct pollfd pfd = {.fd = PQsocket(l->conn), .events = POLLIN};
		int rc = poll(&pfd, 1, (int)left);
		if (rc < 0 && errno != EINTR)
			log_warn("waiting for queued mail failed", "error", strerror(errno));
		if (rc <= 0)
			return 0;
	}
}
