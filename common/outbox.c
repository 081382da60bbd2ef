/* outbox.c - the transactional outbox and its relay. An event row is
 * written with the state change; the relay claims due rows with FOR
 * UPDATE SKIP LOCKED and a lease (a relay that dies mid-send leaves the
 * row to be claimed again when the lease ends), POSTs each one with the
 * service credential and records the verdict. It never deletes events. */
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "db.h"
#include "http.h"
#include "peer.h"
#include "log.h"
#include "metrics.h"
#include "outbox.h"
#include "worker.h"

#define LEASE "30 seconds"
/* how long one relay call may go on claiming while claims come back full */
#define OUTBOX_RELAY_MS 500

int outbox_add(struct db *db, const char *event_id, const char *peer, const char *path,
               const char *json, const char *request_id)
{
	PGresult *res =
	        db_query(db,
	                 "INSERT INTO outbox (event_id, service, path, payload, request_id) "
	                 "VALUES ($1, $2, $3, $4, nullif($5, '')) "
	                 "ON CONFLICT (event_id) DO NOTHING",
	                 DB_TEXT(event_id), DB_TEXT(peer), DB_TEXT(path), DB_TEXT(json),
	                 DB_TEXT(request_id ? request_id : ""));

	PQclear(res);
	return res ? 0 : -1;
}

enum outbox_verdict outbox_default_verdict(int status)
{
	if (status >= 200 && status < 300)
		return OUTBOX_DONE;
	if (status >= 400 && status < 500 && status != 408 && status != 429)
		return OUTBOX_DONE;
	return OUTBOX_RETRY;
}

int outbox_backoff(int attempts)
{
	if (attempts < 1)
		return 1;
	return attempts >= 7 ? 60 : 1 << (attempts - 1);
}

static void record(struct worker *w, int64_t id, enum outbox_verdict v, int attempts, int status)
{
	if (v == OUTBOX_DONE)
		PQclear(db_query(w->db,
		                 "UPDATE outbox SET delivered_at = now(), last_status = $2, "
		                 "lease_until = NULL WHERE id = $1",
		                 DB_INT(id), DB_INT(status)));
	else
		PQclear(db_query(w->db,
		                 "UPDATE outbox SET lease_until = NULL, last_status = $2, "
		                 "next_attempt_at = now() + make_interval(secs => $3::int) "
		                 "WHERE id = $1",
		                 DB_INT(id), DB_INT(status), DB_INT(outbox_backoff(attempts))));
}

/* A claimed event, as the relay reads it. */
struct event {
	int64_t id;
	char event_id[256];
	char peer[64];
	char path[512];
	const char *payload; /* in the result */
	int attempts;
	char request_id[72]; /* of the flow's first request; "" when unknown */
};

static void read_event(const PGresult *res, int i, struct event *e)
{
	struct db_row c = DB_ROW(res, i);

	e->id = db_next_int(&c);
	DB_NEXT_TEXT(&c, e->event_id);
	DB_NEXT_TEXT(&c, e->peer);
	DB_NEXT_TEXT(&c, e->path);
	e->payload = PQgetvalue(res, i, c.col++);
	e->attempts = (int)db_next_int(&c);
	DB_NEXT_TEXT(&c, e->request_id);
}

/* POST one claimed event and record the verdict; 1 when it is done. */
static int deliver(struct worker *w, const struct event *e, outbox_judge judge)
{
	struct http_response resp;
	int status = 0;
	const char *rid = *e->request_id ? e->request_id : e->event_id;
	char text[8];

	log_set_request_id(rid);
	if (peer_call(w, e->peer, "POST", e->path, rid, e->payload, &resp) == 0)
		status = resp.status;
	enum outbox_verdict v = judge ? judge(w, e->event_id, e->path, status, &resp.body)
	                              : outbox_default_verdict(status);
	http_response_release(&resp);
	if (v == OUTBOX_DONE && (status < 200 || status >= 300))
		log_warn("outbox event refused by its receiver", "event", e->event_id, "path",
		         e->path);
	snprintf(text, sizeof(text), "%d", status);
	if (v == OUTBOX_DONE && status >= 200 && status < 300)
		log_info("outbox event delivered", "event", e->event_id, "path", e->path, "status",
		         text);
	record(w, e->id, v, e->attempts, status);
	log_set_request_id(NULL);
	return v == OUTBOX_DONE;
}

int outbox_relay(struct worker *w, int limit, outbox_judge judge)
{
	struct event e;
	int done = 0, claimed;
	int64_t until = clock_ms() + OUTBOX_RELAY_MS;

	/* A backlog (a wave of expiries) drains at the receivers' pace, not
	 * one claim per tick; the time bound leaves the tick's other work its
	 * turn. RETURNING gives no order: rows are sent as claimed, the
	 * claim itself takes priority 0 first. */
	do {
		PGresult *res = db_query(
		        w->db,
		        "UPDATE outbox SET lease_until = now() + interval '" LEASE "', "
		        "attempts = attempts + 1 WHERE id IN (SELECT id FROM outbox "
		        "WHERE delivered_at IS NULL AND next_attempt_at <= now() "
		        "AND (lease_until IS NULL OR lease_until < now()) ORDER BY priority, id "
		        "LIMIT $1 FOR UPDATE SKIP LOCKED) "
		        "RETURNING id, event_id, service, path, payload, attempts, "
		        "coalesce(request_id, ''), priority",
		        DB_INT(limit));
		if (res == NULL)
			return done ? done : -1;
		claimed = PQntuples(res);
		/* the urgent ones of this claim first */
		for (int pass = 0; pass < 2; pass++)
			for (int i = 0; i < claimed; i++) {
				if ((db_int(res, i, 7) != 0) != pass)
					continue;
				read_event(res, i, &e);
				done += deliver(w, &e, judge);
			}
		PQclear(res);
	} while (claimed == limit && clock_ms() < until);
	return done;
}

int outbox_gauges(struct worker *w, struct buf *out)
{
	/* the partial index outbox_due holds exactly these rows */
	PGresult *res =
	        db_exec(w->db, DB_BACKLOG_SQL("outbox WHERE delivered_at IS NULL"), 0, NULL);
	int64_t count;
	double oldest;

	if (db_backlog(res, &count, &oldest) != STORE_OK)
		return -1;
	metrics_gauge(out, "outbox_undelivered", "outbox events not yet delivered", (double)count);
	metrics_gauge(out, "outbox_oldest_undelivered_seconds",
	              "age of the oldest undelivered outbox event (0: none)", oldest);
	return 0;
}
