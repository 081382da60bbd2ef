/* fake_store.h - the flights store (store.h) in memory, for the handler
 * tests: a table of flights the test fills and inspects, and failures it
 * can ask for. Test code only; linked instead of store.c. */
#ifndef FLIGHTS_FAKE_STORE_H
#define FLIGHTS_FAKE_STORE_H

#include <stdint.h>

#include "fake_ops.h"
#include "store.h"

/* Ids store_flight_create gives start here, above the seeded ones. */
#define FAKE_FIRST_ID 100
/* created_at of every flight store_flight_create adds. */
#define FAKE_CREATED_AT 1767225600 /* 2026-01-01T00:00:00Z */

/* Empty the table, forget failures and calls; the next created id
 * is FAKE_FIRST_ID. */
void fake_store_reset(void);
/* Put f in the table as it is (its id included, replacing a flight with
 * that id). */
void fake_flight_put(const struct flight *f);
/* The stored flight id, or NULL when there is none. */
const struct flight *fake_flight(int64_t id);
/* fake_store_fail, fake_store_fail_next and fake_store_calls (fake_ops.h)
 * name the store functions "create", "by_id", "update",
 * "set_active", "delete" and "list". */

#endif
