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

struct worker;

/* Live bookings of the n flights ids into live[i]: 0, or -1 (logged) when
 * neither Redis nor the bookings pool could tell for every flight. One
 * Redis round trip, at most one call to the bookings pool (request_id is
 * passed on). */
int occupancy_live(struct worker *w, const char *request_id, const int64_t *ids, int n,
                   long long *live);

/* The live count a cached seats:<id> value tells at now_ms: 1 with *live,
 * or 0 when it is missing (NULL), malformed or too old to trust. */
int occupancy_from_cache(const char *cached, int64_t now_ms, long long *live);
/* Parse the bookings pool's answer: a JSON object mapping each of the n
 * ids (as decimal strings) to a count >= 0. 0 with live[i], or -1 when
 * body is not such an object or an id is missing. */
int occupancy_parse(const char *body, const int64_t *ids, int n, long long *live);
/* Seats left: total_seats - live, clamped to 0..total_seats. */
int occupancy_available(int total_seats, long long live);

#endif
