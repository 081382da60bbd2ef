/* store.h - the flights database: rows <-> struct flight. Knows SQL, not
 * HTTP; seat availability is not stored here (see occupancy.h). */
#ifndef FLIGHTS_STORE_H
#define FLIGHTS_STORE_H

#include <stdint.h>

#include "flight_entry.h"
#include "store_status.h"

struct db;

/* What GET /flights selects: active flights only. */
struct flight_filter {
	char origin[4];      /* "" = any */
	char destination[4]; /* "" = any */
	int64_t date;        /* 00:00 UTC of the departure date, or -1 = any */
	char cabin[16];      /* a cabin name the flight has, "" = any */
	int64_t limit;
	int64_t offset;
};

struct flight_list {
	struct flight *rows; /* owned; release with store_flight_list_release */
	int count;
	int64_t total; /* rows matching the filter, ignoring limit/offset */
};

/* Insert f (every field but id, is_active and created_at); fills out.
 * STORE_CONFLICT when the flight number already flies on that UTC date. */
enum store_status store_flight_create(struct db *db, const struct flight *f, struct flight *out);
/* The flight id, active or not. */
enum store_status store_flight_by_id(struct db *db, int64_t id, struct flight *out);
/* Overwrite the flight f->id with every field of f but created_at; fills
 * out. STORE_CONFLICT as for create, STORE_NOT_FOUND when it is gone. */
enum store_status store_flight_update(struct db *db, const struct flight *f, struct flight *out);
/* Set is_active of flight id; fills out with the row as it now is. */
enum store_status store_flight_set_active(struct db *db, int64_t id, int active,
                                          struct flight *out);
/* Delete flight id. */
enum store_status store_flight_delete(struct db *db, int64_t id);
/* The page of active flights q selects, by departure time then id. On
 * STORE_OK out holds the rows (release them); otherwise out is empty. */
enum store_status store_flight_list(struct db *db, const struct flight_filter *q,
                                    struct flight_list *out);
void store_flight_list_release(struct flight_list *l);

#endif
