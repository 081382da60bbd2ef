/* occupancy.c - live booking counts of flights, from the bookings pool's
 * Redis sets, else from the bookings pool itself. It only reads: the sets
 * belong to the bookings pool, which builds and updates them. */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>

#include "buf.h"
#include "conf.h"
#include "field.h"
#include "http.h"
#include "kv.h"
#include "log.h"
#include "mem.h"
#include "bookings/seat_set.h"
#include "occupancy.h"
#include "peer.h"
#include "worker.h"

#define SEATS_KEY_MAX 40

int occupancy_from_scard(long long scard, long long *live)
{
	return seat_set_live(scard, live);
}

int occupancy_available(int total_seats, long long live)
{
	if (live <= 0)
		return total_seats;
	if (live >= total_seats)
		return 0;
	return total_seats - (int)live;
}

/* The count of id in obj: 0 with *count, or -1 when absent or not an
 * integer >= 0. */
static int count_of(struct json_object *obj, int64_t id, long long *count)
{
	char key[24];
	struct json_object *v;
	int64_t n;

	snprintf(key, sizeof(key), "%" PRId64, id);
	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_int))
		return -1;
	if (field_parse_int64(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN), 0,
	                      INT64_MAX, &n) < 0)
		return -1;
	*count = n;
	return 0;
}

int occupancy_parse(const char *body, const int64_t *ids, int n, long long *live)
{
	struct json_object *obj = json_tokener_parse(body);
	int rc = -1;

	if (obj == NULL || !json_object_is_type(obj, json_type_object))
		goto out;
	for (int i = 0; i < n; i++)
		if (count_of(obj, ids[i], &live[i]) < 0)
			goto out;
	rc = 0;
out:
	json_object_put(obj);
	return rc;
}

/* Ask the bookings pool for the n flights ids: 0 with live[], or -1. */
static int ask_bookings(struct worker *w, const char *request_id, const int64_t *ids, int n,
                        long long *live)
{
	struct http_response resp;
	struct buf url;
	int rc = -1;

	buf_init(&url);
	buf_adds(&url, "/internal/occupancy?flight_ids=");
	for (int i = 0; i < n; i++)
		buf_printf(&url, "%s%" PRId64, i ? "," : "", ids[i]);
	if (peer_call(w, "bookings", "GET", buf_str(&url), request_id, NULL, &resp) == 0) {
		char status[8];
		snprintf(status, sizeof(status), "%d", resp.status);
		if (resp.status != 200)
			log_warn("occupancy call refused", "status", status);
		else if ((rc = occupancy_parse(buf_str(&resp.body), ids, n, live)) < 0)
			log_warn("occupancy answer malformed or incomplete");
	}
	http_response_release(&resp);
	buf_release(&url);
	return rc;
}

/* SCARD every seats:<id> into scard[] (all 0 when Redis is down). */
static void read_sets(struct worker *w, const int64_t *ids, int n, long long *scard)
{
	char(*keys)[SEATS_KEY_MAX] = xcalloc((size_t)n, sizeof(*keys));
	const char **names = xcalloc((size_t)n, sizeof(*names));

	for (int i = 0; i < n; i++) {
		seat_set_key(ids[i], keys[i], sizeof(keys[i]));
		names[i] = keys[i];
	}
	if (kv_scard_many(w->kv, names, n, scard) < 0) {
		log_warn("seat sets unavailable: asking the bookings pool");
		for (int i = 0; i < n; i++)
			scard[i] = 0;
	}
	free(names);
	free(keys);
}

int occupancy_live(struct worker *w, const char *request_id, const int64_t *ids, int n,
                   long long *live)
{
	long long *scard = NULL, *asked_live = NULL;
	int64_t *asked = NULL;
	int nasked = 0, rc = -1;

	if (n <= 0)
		return 0;
	scard = xcalloc((size_t)n, sizeof(*scard));
	asked = xcalloc((size_t)n, sizeof(*asked));
	asked_live = xcalloc((size_t)n, sizeof(*asked_live));
	read_sets(w, ids, n, scard);
	for (int i = 0; i < n; i++)
		if (!occupancy_from_scard(scard[i], &live[i]))
			asked[nasked++] = ids[i];
	if (nasked > 0 && ask_bookings(w, request_id, asked, nasked, asked_live) < 0)
		goto out;
	for (int i = 0, k = 0; i < n && k < nasked; i++)
		if (scard[i] < 1)
			live[i] = asked_live[k++];
	rc = 0;
out:
	free(asked_live);
	free(asked);
	free(scard);
	return rc;
}
