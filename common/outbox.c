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

#include "db.h"
#include "http.h"
#include "log.h"
#include "outbox.h"
#include "worker.h"

#define LEASE "30 seconds"

int outbox_add(struct db *db, const char *event_id, const char *service, const char *path,
               const char *json)
{
	const char *p[] = {event_id, service, path, json};
	PGresult *res = db_exec(db,
	                        "INSERT INTO outbox (event_id, service, path, payload) "
	                        "VALUES ($1, $2, $3, $4) ON CONFLICT (event_id) DO NOTHING",
	                        4, p);

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

static const char *service_url(const struct conf *c, const char *service)
{
	if (strcmp(service, "users") == 0)
		return c->users_url;
	if (strcmp(service, "flights") == 0)
		return c->flights_url;
	if (strcmp(service, "bookings") == 0)
		return c->bookings_url;
	if (strcmp(service, "payments") == 0)
		return c->payments_url;
	if (strcmp(service, "notifications") == 0)
		return c->notifications_url;
	return NULL;
}

static void record(struct worker *w, const char *id, enum outbox_verdict v, int attempts,
                   int status)
{
	char delay[16], code[16];
	const char *p[] = {id, code, delay};

	snprintf(code, sizeof(code), "%d", status);
	snprintf(delay, sizeof(delay), "%d", outbox_backoff(attempts));
	if (v == OUTBOX_DONE)
		PQclear(db_exec(w->db,
		                "UPDATE outbox SET delivered_at = now(), last_status = $2, "
		                "lease_until = NULL WHERE id = $1",
		                2, p));
	else
		PQclear(db_exec(w->db,
		                "UPDATE outbox SET lease_until = NULL, last_status = $2, "
		                "next_attempt_at = now() + make_interval(secs => $3::int) "
		                "WHERE id = $1",
		                3, p));
}

/* POST one claimed event (row i of res) and record the verdict. */
static int deliver(struct worker *w, const PGresult *res, int i, outbox_judge judge)
{
	const char *id = PQgetvalue(res, i, 0), *event = PQgetvalue(res, i, 1);
	const char *path = PQgetvalue(res, i, 3), *payload = PQgetvalue(res, i, 4);
	const char *base = service_url(w->conf, PQgetvalue(res, i, 2));
	struct http_response resp;
	char url[512];
	int status = 0;

	if (base == NULL) {
		log_error("outbox event for an unknown service", "event", event);
		record(w, id, OUTBOX_DONE, 0, 0);
		return 0;
	}
	snprintf(url, sizeof(url), "%s%s", base, path);
	if (http_call("POST", url, w->conf->service_key, event, payload,
	              w->conf->service_timeout_ms, &resp) == 0)
		status = resp.status;
	enum outbox_verdict v =
	        judge ? judge(w, event, path, status, &resp.body) : outbox_default_verdict(status);
	http_response_release(&resp);
	if (v == OUTBOX_DONE && (status < 200 || status >= 300))
		log_warn("outbox event refused by its receiver", "event", event, "path", path);
	record(w, id, v, atoi(PQgetvalue(res, i, 5)), status);
	return v == OUTBOX_DONE;
}

int outbox_relay(struct worker *w, int limit, outbox_judge judge)
{
	char slimit[16];
	const char *p[] = {slimit};
	int done = 0;

	snprintf(slimit, sizeof(slimit), "%d", limit);
	PGresult *res = db_exec(w->db,
	                        "UPDATE outbox SET lease_until = now() + interval '" LEASE "', "
	                        "attempts = attempts + 1 WHERE id IN (SELECT id FROM outbox "
	                        "WHERE delivered_at IS NULL AND next_attempt_at <= now() "
	                        "AND (lease_until IS NULL OR lease_until < now()) ORDER BY id "
	                        "LIMIT $1 FOR UPDATE SKIP LOCKED) "
	                        "RETURNING id, event_id, service, path, payload, attempts",
	                        1, p);
	if (res == NULL)
		return -1;
	for (int i = 0; i < PQntuples(res); i++)
		done += deliver(w, res, i, judge);
	PQclear(res);
	return done;
}
