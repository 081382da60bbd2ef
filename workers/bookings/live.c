/* live.c - publishing committed seat changes to Nchan (live.h). */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "bookings.h"
#include "http.h"
#include "live.h"
#include "log.h"
#include "store.h"
#include "worker.h"

/* nginx on loopback or a LAN answers a publish in well under a
 * millisecond; a slow or absent one costs a change at most this. */
#define PUBLISH_TIMEOUT_MS 300
/* After a failed publish, a gateway is skipped this long by this process
 * (the republish by the tick child catches up on what it missed), so a
 * gateway that is down costs bookings one timeout per process per period,
 * not one per seat change. */
#define GATEWAY_BACKOFF_MS 5000
#define MAX_GATEWAYS       16
#define URL_MAX            400

static const char SEPARATORS[] = " \t,";

const char *live_check_urls(const char *value)
{
	int n = 0;

	for (const char *p = value + strspn(value, SEPARATORS); *p; p += strspn(p, SEPARATORS)) {
		size_t len = strcspn(p, SEPARATORS);
		if (strncmp(p, "http://", 7) != 0 && strncmp(p, "https://", 8) != 0)
			return "must be http:// or https:// URLs, separated by spaces or commas";
		if (len > URL_MAX)
			return "has a URL that is too long";
		if (++n > MAX_GATEWAYS)
			return "lists more than 16 gateways";
		p += len;
	}
	return NULL;
}

const char *live_seat_status(const char *booking_status)
{
	if (strcmp(booking_status, "pending") == 0)
		return "held";
	if (strcmp(booking_status, "confirmed") == 0)
		return "booked";
	return "available";
}

/* Publish body to one gateway's channel of flight: 0, or -1 (logged). */
static int publish_one(const char *base, size_t baselen, const char *flight, const char *seat,
                       const char *status, const char *body)
{
	struct http_response resp;
	char url[URL_MAX + 32];

	snprintf(url, sizeof(url), "%.*s/%s", (int)baselen, base, flight);
	/* Nchan answers 201 (queued, subscribers or not) or 202 (queued, no
	 * subscriber yet); the service key is not needed: the publisher port
	 * is reachable from the pools' hosts only, never through the gateway. */
	int rc = http_call("POST", url, NULL, NULL, body, PUBLISH_TIMEOUT_MS, &resp);
	int ok = rc == 0 && resp.status >= 200 && resp.status <= 299;
	if (!ok) {
		char code[16];
		snprintf(code, sizeof(code), "%d", rc < 0 ? 0 : resp.status);
		/* the map stays right: the tick child publishes it again, and
		 * clients re-read it when their stream (re)opens */
		log_warn("live publish failed", "url", url, "flight", flight, "seat", seat,
		         "status", status, "http_status", code);
	}
	http_response_release(&resp);
	return ok ? 0 : -1;
}

void live_seat(struct worker *w, int64_t flight_id, const char *seat, const char *status)
{
	/* per process: when each gateway (by its place in the list) may be
	 * tried again */
	static int64_t retry_at[MAX_GATEWAYS];
	const struct bookings_settings *s = w->settings;
	char flight[24];

	/* unset only in unit tests, which have no nginx to publish to */
	if (s == NULL || s->live_publish_url == NULL || !*s->live_publish_url)
		return;
	snprintf(flight, sizeof(flight), "%" PRId64, flight_id);
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "seat_number", json_object_new_string(seat));
	json_object_object_add(o, "status", json_object_new_string(status));
	const char *body = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	const char *p = s->live_publish_url;
	for (int i = 0; i < MAX_GATEWAYS && *(p += strspn(p, SEPARATORS)); i++) {
		size_t len = strcspn(p, SEPARATORS);
		int64_t now = clock_ms();
		if (retry_at[i] <= now)
			retry_at[i] = publish_one(p, len, flight, seat, status, body) < 0
			                      ? now + GATEWAY_BACKOFF_MS
			                      : 0;
		p += len;
	}
	json_object_put(o);
}

void live_booking(struct worker *w, const struct booking *b)
{
	const char *status = live_seat_status(b->status);

	/* every seat of the booking (one made before passengers were read
	 * lists none: its seat_number) */
	if (b->npassengers == 0)
		live_seat(w, b->flight_id, b->seat_number, status);
	for (int i = 0; i < b->npassengers; i++)
		live_seat(w, b->flight_id, b->passengers[i].seat_number, status);
}

void live_republish(struct worker *w)
{
	static char since[40]; /* the database's clock, as text */
	struct seat_row *rows = NULL;
	int n = 0;

	if (store_seats_changed(w->db, since, sizeof(since), &rows, &n) != STORE_OK)
		return; /* the database is away: the same window next time */
	for (int i = 0; i < n; i++)
		live_seat(w, rows[i].flight_id, rows[i].seat_number,
		          live_seat_status(rows[i].status));
	free(rows);
}
