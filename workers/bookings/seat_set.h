/* seat_set.h - the Redis key seats:<flight_id>, owned by the bookings
 * service: a cached count of the flight's live seats (held or booked),
 * as PostgreSQL told it at most SEAT_COUNT_TTL_MS ago. Only the bookings
 * pool writes it (GET /internal/occupancy counts in PostgreSQL and stores
 * the answer; every change of a live seat deletes it); the flights pool
 * reads it for available_seats and asks the bookings pool on a miss.
 * Its value is "<count>@<unix ms when counted>|<row>:<n>,...": the live
 * seats per row follow the '|' (rows without any are left out), so the
 * flights pool tells each cabin's seats left from the same count (cabins
 * are row ranges). A reader trusts it only
 * while that is under SEAT_COUNT_TTL_MS old, so not even a value written
 * by hand, restored from a dump or left with another expiry can be
 * believed for longer.
 *
 * Why a short-lived count and not a set kept up to date member by member:
 * a set drifts whenever one SADD/SREM is lost (Redis restarted, flushed,
 * frozen, a worker killed between COMMIT and SADD) and stays wrong until
 * someone notices. A count that expires on its own cannot be wrong for
 * longer than its lifetime, whatever happened to Redis (docs/ARCHITECTURE.md,
 * "Redis never decides"). */
#ifndef BOOKINGS_SEAT_SET_H
#define BOOKINGS_SEAT_SET_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEAT_SET_KEY_MAX 32
/* Under the 2 s promise with room for a request in flight. */
#define SEAT_COUNT_TTL_MS 1000
/* Rows a flight can have: 853 seats, six a row, the last one short. */
#define SEAT_ROWS_MAX 143
/* The longest value: a count, a time and every row full. */
#define SEAT_COUNT_TEXT_MAX (48 + SEAT_ROWS_MAX * 7)

/* seats:map:<flight_id>, also the bookings service's: the seat map's
 * live seats, "<unix ms when read>|<one character per seat>" ('.'
 * available, 'h' held, 'b' booked), so GET /flights/{id}/seats reads Redis
 * once instead of PostgreSQL. Trusted, like the count, only while under
 * SEAT_COUNT_TTL_MS old. Every change of a live seat replaces it with the
 * mark SEAT_MAP_CHANGED for SEAT_COUNT_TTL_MS (and drops the count in the
 * same step), and a reader stores a map only where no value is (SET NX):
 * so a reader that read PostgreSQL before a change cannot store what it
 * read after it, and no map older than the change is ever believed. */
#define SEAT_MAP_CHANGED "changed"
static inline void seat_map_key(int64_t flight_id, char *out, size_t len)
{
	snprintf(out, len, "seats:map:%" PRId64, flight_id);
}

/* The key of flight id's count into out (>= SEAT_SET_KEY_MAX bytes). */
static inline void seat_set_key(int64_t flight_id, char *out, size_t len)
{
	snprintf(out, len, "seats:%" PRId64, flight_id);
}

/* The value of a count live counted at now_ms into out: its length. */
static inline int seat_count_format(int64_t live, int64_t now_ms, char *out, size_t len)
{
	return snprintf(out, len, "%" PRId64 "@%" PRId64, live, now_ms);
}

/* A cached value read at now_ms: 1 with *live when it is well formed and
 * fresh (counted less than SEAT_COUNT_TTL_MS before now_ms, not in the
 * future beyond a little clock skew), else 0 (ask PostgreSQL). */
static inline int seat_count_parse(const char *value, int64_t now_ms, long long *live)
{
	char *end;

	if (value == NULL || *value < '0' || *value > '9')
		return 0;
	long long n = strtoll(value, &end, 10);
	if (*end != '@' || end[1] < '0' || end[1] > '9')
		return 0;
	long long at = strtoll(end + 1, &end, 10);
	if ((*end != '\0' && *end != '|') || n < 0 || now_ms - at >= SEAT_COUNT_TTL_MS ||
	    at - now_ms > 1000)
		return 0;
	*live = n;
	return 1;
}

/* Append the per-row part "|<row>:<n>,..." of the seats named seat[i]
 * (n of them, "12A" and the like) to out (len bytes, holding a count
 * already): its new length. */
static inline int seat_rows_format(const char *const *seat, int n, char *out, size_t len)
{
	unsigned short per_row[SEAT_ROWS_MAX + 1] = {0};
	size_t at = strlen(out);

	for (int i = 0; i < n; i++) {
		long row = strtol(seat[i], NULL, 10);
		if (row >= 1 && row <= SEAT_ROWS_MAX)
			per_row[row]++;
	}
	at += (size_t)snprintf(out + at, at < len ? len - at : 0, "|");
	for (int row = 1, first = 1; row <= SEAT_ROWS_MAX && at < len; row++)
		if (per_row[row]) {
			at += (size_t)snprintf(out + at, len - at, "%s%d:%u", first ? "" : ",", row,
			                       per_row[row]);
			first = 0;
		}
	return at < len ? (int)at : (int)len - 1;
}

/* The live seats per row of value (as seat_rows_format wrote it) into
 * per_row[1..SEAT_ROWS_MAX]: 1, or 0 when value carries no rows part or
 * it is malformed. */
static inline int seat_rows_parse(const char *value, unsigned short *per_row)
{
	const char *p = value ? strchr(value, '|') : NULL;
	char *end;

	if (p == NULL)
		return 0;
	for (int row = 0; row <= SEAT_ROWS_MAX; row++)
		per_row[row] = 0;
	for (p++; *p;) {
		long row = strtol(p, &end, 10);
		if (*end != ':' || row < 1 || row > SEAT_ROWS_MAX)
			return 0;
		long k = strtol(end + 1, &end, 10);
		if (k < 0 || k > 6 || (*end != ',' && *end != '\0'))
			return 0;
		per_row[row] = (unsigned short)k;
		p = *end ? end + 1 : end;
	}
	return 1;
}

#endif
