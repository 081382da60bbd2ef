/* flight_entry.h - a flight as other services see it, owned by the
 * flights service: struct flight, its JSON (the public form, and the
 * internal form that GET /internal/flights/{id} answers and the Redis
 * entry flight:<id> holds), the parser of the internal form and the
 * cache entry itself. The flights pool writes it; the bookings pool
 * reads it with these same functions (it links this file). */
#ifndef FLIGHTS_FLIGHT_ENTRY_H
#define FLIGHTS_FLIGHT_ENTRY_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct json_object;
struct kv;

#define FLIGHT_NUMBER_MAX 8 /* "AB1234C" and its NUL */
#define AIRLINE_MAX       65
#define FLIGHT_SEATS_MAX  853
#define FLIGHT_PRICE_MAX  100000000LL /* cents: 1,000,000.00 */

struct flight {
	int64_t id;
	char flight_number[FLIGHT_NUMBER_MAX];
	char airline[AIRLINE_MAX];
	char origin[4];         /* IATA, upper case */
	char destination[4];    /* IATA, upper case */
	int64_t departure_time; /* Unix seconds */
	int64_t arrival_time;   /* Unix seconds */
	int64_t price_cents;
	int total_seats;
	int is_active;
	int64_t created_at; /* Unix seconds */
};

/* f as the Flight JSON. With available >= 0 the public form (with
 * available_seats); with available < 0 the internal form (with
 * price_cents, without available_seats). Caller puts the object. */
struct json_object *flight_entry_json(const struct flight *f, int available);
/* Read the internal form back: 0, or -1 when text is not a complete
 * internal Flight JSON. */
int flight_entry_parse(const char *text, struct flight *f);

/* The cache entry flight:<id> (internal form, 5 minutes). */
/* Store f (only when absent if nx) and append its JSON to json when not
 * NULL: 0, or -1 when Redis did not take it. */
int flight_entry_put(struct kv *kv, const struct flight *f, int nx, struct buf *json);
/* Flight id from the cache into f (its JSON appended to json when not
 * NULL): 1 found, 0 absent (an unreadable entry is dropped), -1 Redis
 * down. */
int flight_entry_get(struct kv *kv, int64_t id, struct flight *f, struct buf *json);
/* Drop flight id from the cache: 0 or -1. */
int flight_entry_drop(struct kv *kv, int64_t id);

#endif
