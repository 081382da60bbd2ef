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
#define FLIGHT_PRICE_MAX  100000000LL                           /* cents: 1,000,000.00 */
#define FLIGHT_ROW_SEATS  6                                     /* A-F */
#define FLIGHT_ROWS_MAX   (FLIGHT_SEATS_MAX / FLIGHT_ROW_SEATS) /* 142 */
#define FLIGHT_CABINS_MAX 4

/* The cabin classes, front of the aircraft first: cabins of a flight go
 * in this order (each at most once). */
enum cabin_kind { CABIN_FIRST, CABIN_BUSINESS, CABIN_PREMIUM_ECONOMY, CABIN_ECONOMY };

/* A cabin: rows first_row..last_row (1-based, six seats each), one price. */
struct cabin {
	int kind;
	int first_row;
	int last_row;
	int64_t price_cents;
};

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
	/* The cabins as given (row order, contiguous from row 1); ncabins 0:
	 * the flight is one economy cabin at price_cents over every seat
	 * (flight_cabins tells them either way). */
	int ncabins;
	struct cabin cabins[FLIGHT_CABINS_MAX];
};

/* "first", "business", "premium_economy", "economy" (NULL beyond). */
const char *flight_cabin_name(int kind);
/* The kind of a cabin name, or -1. */
int flight_cabin_kind(const char *name);
/* f's cabins into out (FLIGHT_CABINS_MAX): their count. Without given
 * cabins, one economy cabin over every row at the flight's price. */
int flight_cabins(const struct flight *f, struct cabin *out);
/* The cabin of seat index i (0-based, row i / 6 + 1) into out: 0, or -1
 * when the seat is not on f. */
int flight_seat_cabin(const struct flight *f, int64_t i, struct cabin *out);

/* f as the Flight JSON. With available >= 0 the public form (with
 * available_seats, and each cabin's from cabin_available[i] in the order
 * of flight_cabins, when not NULL); with available < 0 the internal form
 * (with price_cents, without available_seats). Caller puts the object. */
struct json_object *flight_entry_json(const struct flight *f, int available,
                                      const int *cabin_available);
/* flight_entry_json(f, available, cabin_available) of the public form
 * (available >= 0), written straight onto out: the same bytes json-c
 * writes for it (plain, '/' unescaped), without building the object. A
 * list page or a single flight is the reply's hot path. */
void flight_entry_public(struct buf *out, const struct flight *f, int available,
                         const int *cabin_available);
/* f's given cabins as the internal JSON array (with price_cents): what
 * PostgreSQL stores; NULL when f has none. Caller puts it. */
struct json_object *flight_cabins_json(const struct flight *f);
/* Read that array (text) into f->cabins: 0, or -1 when malformed. */
int flight_cabins_parse(const char *text, struct flight *f);
/* Read the internal form back: 0, or -1 when text is not a complete
 * internal Flight JSON. */
int flight_entry_parse(const char *text, struct flight *f);

/* The cache entry flight:<id> (internal form, 5 minutes). */
#define FLIGHT_ENTRY_KEY_MAX 40
/* Its key, for a caller that reads it along with other keys (out of
 * FLIGHT_ENTRY_KEY_MAX bytes). */
void flight_entry_key(int64_t id, char *key, size_t len);
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
