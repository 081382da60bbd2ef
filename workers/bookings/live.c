/* live.c - publishing committed seat changes to Nchan (live.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bookings.h"
#include "flights/read_cache.h"
#include "gateways.h"
#include "buf.h"
#include "live.h"
#include "log.h"
#include "store.h"
#include "worker.h"

const char *live_seat_status(const char *booking_status)
{
	if (strcmp(booking_status, "pending") == 0)
		return "held";
	if (strcmp(booking_status, "confirmed") == 0)
		return "booked";
	return "available";
}

/* Queue the seat's new state for its flight's channel on every gateway
 * (LIVE_PUBLISH_URL). Nchan answers 201 (queued, subscribers or not) or
 * 202 (queued, no subscriber yet); the service key is not needed: the
 * publisher port is reachable from the pools' hosts only, never through
 * the gateway. A publish that failed is logged (gateways.c); the map
 * stays right: the tick child publishes it again, and clients re-read it
 * when their stream (re)opens. */
static void queue_seat(struct worker *w, int64_t flight_id, const char *seat, const char *status)
{
	const struct bookings_settings *s = w->settings;
	char flight[24];
	struct buf body;

	/* unset only in unit tests, which have no nginx to publish to */
	if (s == NULL || s->live_publish_url == NULL || !*s->live_publish_url)
		return;
	snprintf(flight, sizeof(flight), "%" PRId64, flight_id);
	buf_init(&body);
	buf_adds(&body, "{\"seat_number\":\"");
	buf_add_json_str(&body, seat);
	buf_adds(&body, "\",\"status\":\"");
	buf_add_json_str(&body, status);
	buf_adds(&body, "\"}");
	gateways_add(s->live_publish_url, "POST", flight, buf_str(&body));
	buf_release(&body);
}

/* Queue the purge of the gateways' cached reads of the flight (its
 * available_seats). */
static void purge(struct worker *w, int64_t flight_id, const char *origin, const char *destination,
                  const char *date)
{
	const struct bookings_settings *s = w->settings;

	if (s != NULL)
		read_cache_purge(s->cache_purge_url, flight_id, origin, destination, date);
}

void live_booking(struct worker *w, const struct booking *b)
{
	const char *status = live_seat_status(b->status);

	/* first the cache, which the booker may read next; then the streams;
	 * all in one exchange per gateway */
	purge(w, b->flight_id, b->origin, b->destination, b->departure_time);
	/* every seat of the booking (one made before passengers were read
	 * lists none: its seat_number) */
	if (b->npassengers == 0)
		queue_seat(w, b->flight_id, b->seat_number, status);
	for (int i = 0; i < b->npassengers; i++)
		queue_seat(w, b->flight_id, b->passengers[i].seat_number, status);
	gateways_send();
}

void live_republish(struct worker *w)
{
	static char since[40]; /* the database's clock, as text */
	struct seat_row *rows = NULL;
	int n = 0;

	if (store_seats_changed(w->db, since, sizeof(since), &rows, &n) != STORE_OK)
		return; /* the database is away: the same window next time */
	for (int i = 0; i < n; i++)
		queue_seat(w, rows[i].flight_id, rows[i].seat_number,
		           live_seat_status(rows[i].status));
	/* and each changed flight's cached reads once more: a read that
	 * started before a change committed may have been kept after its
	 * purge (rows come sorted by flight) */
	int64_t ids[64];
	int nids = 0;
	for (int i = 0; i < n && nids < 64; i++)
		if (nids == 0 || ids[nids - 1] != rows[i].flight_id)
			ids[nids++] = rows[i].flight_id;
	free(rows);
	struct flight_route *routes = NULL;
	int nroutes = 0;
	if (nids && store_flight_routes(w->db, ids, nids, &routes, &nroutes) == STORE_OK)
		for (int i = 0; i < nroutes; i++)
			purge(w, routes[i].flight_id, routes[i].origin, routes[i].destination,
			      routes[i].date);
	free(routes);
	gateways_send();
}
