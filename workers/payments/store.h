/* store.h - the payments database: payments, their processing claims and
 * refunds, with the outbox events they cause; and the gateway simulator's
 * ledger. Knows SQL, not HTTP. */
#ifndef PAYMENTS_STORE_H
#define PAYMENTS_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "gateway.h"
#include "store_status.h"

struct db;

/* The event id of a payment's confirmation request: this prefix and the
 * payment id (the relay's judge reads it back). */
#define STORE_CONFIRM_EVENT "confirm-"

struct payment {
	int64_t id;
	int64_t booking_id;
	int64_t user_id;
	int64_t amount_cents;
	char payment_method[16];
	char card_last4[5];
	char card_brand[16];
	char gateway_token[GATEWAY_TOKEN_MAX];
	char status[12];
	char failure_reason[64];
	char created_at[24];
	char processed_at[24]; /* "" = not yet */
	char refunded_at[24];  /* "" = not refunded */
	char request_id[72];   /* of the request that made it; "" = unknown */
};

/* Insert p as pending. STORE_CONFLICT when the booking already has a
 * pending or succeeded payment. */
enum store_status store_payment_create(struct db *db, const struct payment *p, struct payment *out);
/* Payment id of owner (0 = anyone). */
enum store_status store_payment_get(struct db *db, int64_t id, int64_t owner, struct payment *out);
/* Payments of owner (0 = anyone), of one booking when booking_id > 0,
 * newest first: *out malloc'd, *n rows, *total matching. */
enum store_status store_payment_list(struct db *db, int64_t owner, int64_t booking_id,
                                     int64_t limit, int64_t offset, struct payment **out, int *n,
                                     int64_t *total);

/* Claim up to limit pending payments for processing (lease 30 s). */
enum store_status store_payment_claim(struct db *db, int limit, struct payment **out, int *n);
/* The processing backlog, for /metrics: *pending payments (claimed or
 * not) and the age in seconds of the oldest (0 when none). STORE_OK or
 * STORE_ERROR. */
enum store_status store_payment_backlog(struct db *db, int64_t *pending, double *oldest_seconds);
/* Record the gateway's answer and, in the same transaction, its event:
 * approved -> succeeded + ask bookings to confirm; declined -> failed +
 * a payment_failed notification. STORE_NOT_FOUND when no longer pending. */
enum store_status store_payment_settle(struct db *db, const struct payment *p, int approved,
                                       struct payment *out);
/* Mark a succeeded payment refunded (after the gateway refunded it). */
enum store_status store_payment_refunded(struct db *db, int64_t id, struct payment *out);
/* The succeeded payment of a booking (to refund). */
enum store_status store_payment_succeeded_for(struct db *db, int64_t booking_id,
                                              struct payment *out);

/* The gateway simulator's ledger (gateway.c), what a real gateway keeps
 * on its side. */
/* Charge token amount_cents once per key: a new key records approve, a
 * known one keeps its first answer. STORE_OK with *approved as recorded,
 * or STORE_ERROR. */
enum store_status store_gateway_charge(struct db *db, const char *key, const char *token,
                                       int64_t amount_cents, int approve, int *approved);
/* Mark the approved charge under key refunded (a second time changes
 * nothing; no such charge is fine too). STORE_OK or STORE_ERROR. */
enum store_status store_gateway_refund(struct db *db, const char *key);

#endif
