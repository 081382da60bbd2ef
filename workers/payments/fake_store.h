/* fake_store.h - the payments store (store.h) in memory, for the handler
 * tests: a table of payments the test fills and inspects, the gateway
 * simulator's ledger, and failures it can ask for. Test code only;
 * linked instead of store.c. */
#ifndef PAYMENTS_FAKE_STORE_H
#define PAYMENTS_FAKE_STORE_H

#include <stdint.h>

#include "fake_ops.h"
#include "store.h"

/* Ids store_payment_create gives start here, above the seeded ones. */
#define FAKE_FIRST_ID 100
/* created_at of every payment store_payment_create adds; the time of
 * every change. */
#define FAKE_NOW "2026-12-01T09:00:00Z"
/* The age store_payment_backlog gives the oldest pending payment. */
#define FAKE_OLDEST_SECONDS 42.5

/* Empty the tables, forget failures and calls; the next id
 * is FAKE_FIRST_ID. */
void fake_store_reset(void);
/* Put p in the table as it is (replacing a payment with its id). */
void fake_payment_put(const struct payment *p);
/* The stored payment id, or NULL when there is none. */
const struct payment *fake_payment(int64_t id);
/* fake_store_fail, fake_store_fail_next and fake_store_calls (fake_ops.h)
 * name the store functions "create", "get", "list",
 * "claim", "settle", "refunded", "succeeded_for", "gateway_charge",
 * "gateway_refund" and "backlog". */
/* 1 when the ledger holds a charge under key, refunded or not. */
int fake_gateway_charged(const char *key, int *refunded);

#endif
