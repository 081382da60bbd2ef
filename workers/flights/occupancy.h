/* occupancy.h - how many live bookings (pending and not expired, or
 * confirmed) each flight has. The bookings pool caches each flight's count
 * in Redis as seats:<flight_id> for about a second (bookings/seat_set.h);
 * when a count is missing (expired, never built, Redis restarted) or Redis
 * is down, the bookings pool is asked: GET {bookings_url}/internal/
 * occupancy?flight_ids=1,2 answers {"1": 3, "2": 0} from PostgreSQL (and
 * caches the counts again). */
#ifndef FLIGHTS_OCCUPANCY_H
#define FLIGHTS_OCCUPANCY_H

#include <stdint.h>

#include "bookings/seat_set.h"

struct worker;
struct flight;

/* The live seats of each row of a flight (taken[1..SEAT_ROWS_MAX]), which
 * tells each cabin's seats left: cabins are row ranges. */
struct occupancy_rows {
	unsigned short taken[SEAT_ROWS_MAX + 1];
};

/* Live bookings of the n flights ids into live[i], and with rows (n of
 * them, or NULL) the live seats per row: 0, or -1 (logged) when neither
 * Redis nor the bookings pool could tell for every flight. One Redis
 * round trip, at most one call to the bookings pool (request_id is
 * passed on). The answer is {"1": 3, ..., "rows": {"1": "12:2,14:1"}}. */
int occupancy_live(struct worker *w, const char *request_id, const int64_t *ids, int n,
                   long long *live, struct occupancy_rows *rows);
/* occupancy_live with the seats:<id> values already read (cached[i], as
 * kv_mget gave them, freed here): for a caller that read them in the
 * same round trip as something else. */
int occupancy_live_from(struct worker *w, const char *request_id, const int64_t *ids, int n,
                        char **cached, long long *live, struct occupancy_rows *rows);
/* Seats left in each cabin of f (in flight_cabins order) into available
 * (FLIGHT_CABINS_MAX) from its live count and rows (NULL: unknown, then
 * only the single default cabin can be told; others get the flight's). */
void occupancy_cabins(const struct flight *f, long long live, const struct occupancy_rows *rows,
                      int *available);

/* The live count a cached seats:<id> value tells at now_ms: 1 with *live,
 * or 0 when it is missing (NULL), malformed or too old to trust. */
int occupancy_from_cache(const char *cached, int64_t now_ms, long long *live);
/* Parse the bookings pool's answer: a JSON object mapping each of the n
 * ids (as decimal strings) to a count >= 0, and with rows (else NULL) its
 * "rows" member the per-row seats of each. 0 with live[i] (rows[i]), or
 * -1 when body is not such an object or an id is missing. */
int occupancy_parse(const char *body, const int64_t *ids, int n, long long *live,
                    struct occupancy_rows *rows);
/* Seats left: total_seats - live, clamped to 0..total_seats. */
int occupancy_available(int total_seats, long long live);

#endif
