/* occupancy.c - live booking counts of flights, from the bookings pool's
 * short-lived Redis counts, else from the bookings pool itself. It only
 * reads: the counts belong to the bookings pool, which writes them. */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "buf.h"
#include "flight_entry.h"
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

int occupancy_from_cache(const char *cached, int64_t now_ms, long long *live)
{
	return seat_count_parse(cached, now_ms, live);
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

/* The rows of id in the answer's "rows" object per_row into rows: 0 or -1. */
static int rows_of(struct json_object *per_row, int64_t id, struct occupancy_rows *rows)
{
	char key[24], text[SEAT_COUNT_TEXT_MAX];
	struct json_object *v;

	snprintf(key, sizeof(key), "%" PRId64, id);
	if (per_row == NULL || !json_object_object_get_ex(per_row, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return -1;
	snprintf(text, sizeof(text), "|%s", json_object_get_string(v));
	return seat_rows_parse(text, rows->taken) ? 0 : -1;
}

int occupancy_parse(const char *body, const int64_t *ids, int n, long long *live,
                    struct occupancy_rows *rows)
{
	struct json_object *obj = json_tokener_parse(body), *per_row = NULL;
	int rc = -1;

	if (obj == NULL || !json_object_is_type(obj, json_type_object))
		goto out;
	json_object_object_get_ex(obj, "rows", &per_row);
	for (int i = 0; i < n; i++)
		if (count_of(obj, ids[i], &live[i]) < 0 ||
		    (rows && rows_of(per_row, ids[i], &rows[i]) < 0))
			goto out;
	rc = 0;
out:
	json_object_put(obj);
	return rc;
}

/* Ask the bookings pool for the n flights ids: 0 with live[], or -1. */
static int ask_bookings(struct worker *w, const char *request_id, const int64_t *ids, int n,
                        long long *live, struct occupancy_rows *rows)
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
		else if ((rc = occupancy_parse(buf_str(&resp.body), ids, n, live, rows)) < 0)
			log_warn("occupancy answer malformed or incomplete");
	}
	http_response_release(&resp);
	buf_release(&url);
	return rc;
}

/* GET every seats:<id> into cached[] (malloc'd values, NULL when missing
 * or Redis is down). */
static void read_counts(struct worker *w, const int64_t *ids, int n, char **cached)
{
	char(*keys)[SEATS_KEY_MAX] = xcalloc((size_t)n, sizeof(*keys));
	const char **names = xcalloc((size_t)n, sizeof(*names));

	for (int i = 0; i < n; i++) {
		seat_set_key(ids[i], keys[i], sizeof(keys[i]));
		names[i] = keys[i];
	}
	if (kv_mget(w->kv, names, n, cached) < 0)
		log_warn("seat counts unavailable: asking the bookings pool");
	free(names);
	free(keys);
}

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int occupancy_live(struct worker *w, const char *request_id, const int64_t *ids, int n,
                   long long *live, struct occupancy_rows *rows)
{
	if (n <= 0)
		return 0;
	char **cached = xcalloc((size_t)n, sizeof(*cached));
	read_counts(w, ids, n, cached);
	int rc = occupancy_live_from(w, request_id, ids, n, cached, live, rows);
	free(cached);
	return rc;
}

int occupancy_live_from(struct worker *w, const char *request_id, const int64_t *ids, int n,
                        char **cached, long long *live, struct occupancy_rows *rows)
{
	struct occupancy_rows *asked_rows = NULL;
	long long *asked_live = NULL;
	int64_t *asked = NULL;
	int nasked = 0, rc = -1;

	if (n <= 0)
		return 0;
	asked = xcalloc((size_t)n, sizeof(*asked));
	asked_live = xcalloc((size_t)n, sizeof(*asked_live));
	if (rows)
		asked_rows = xcalloc((size_t)n, sizeof(*asked_rows));
	int64_t now = wall_ms();
	char *fresh = xcalloc((size_t)n, 1);
	for (int i = 0; i < n; i++) {
		fresh[i] = (char)occupancy_from_cache(cached[i], now, &live[i]);
		/* a count written without its rows cannot tell cabins apart */
		if (fresh[i] && rows && !seat_rows_parse(cached[i], rows[i].taken))
			fresh[i] = 0;
		if (!fresh[i])
			asked[nasked++] = ids[i];
	}
	if (nasked > 0 && ask_bookings(w, request_id, asked, nasked, asked_live, asked_rows) < 0)
		goto out;
	for (int i = 0, k = 0; i < n && k < nasked; i++)
		if (!fresh[i]) {
			if (rows)
				rows[i] = asked_rows[k];
			live[i] = asked_live[k++];
		}
	rc = 0;
out:
	for (int i = 0; i < n; i++) {
		free(cached[i]);
		cached[i] = NULL;
	}
	free(fresh);
	free(asked_rows);
	free(asked_live);
	free(asked);
	return rc;
}

void occupancy_cabins(const struct flight *f, long long live, const struct occupancy_rows *rows,
                      int *available)
{
	struct cabin c[FLIGHT_CABINS_MAX];
	int n = flight_cabins(f, c);

	for (int k = 0; k < n; k++) {
		if (f->ncabins == 0 || rows == NULL) {
			available[k] = occupancy_available(f->total_seats, live);
			continue;
		}
		available[k] = 0;
		for (int row = c[k].first_row; row <= c[k].last_row && row <= SEAT_ROWS_MAX; row++)
			if (rows->taken[row] < FLIGHT_ROW_SEATS)
				available[k] += FLIGHT_ROW_SEATS - rows->taken[row];
	}
}
