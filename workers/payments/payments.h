/* payments.h - handlers, background processing and card rules of the
 * payments service. */
#ifndef PAYMENTS_PAYMENTS_H
#define PAYMENTS_PAYMENTS_H

#include <stddef.h>

struct buf;
struct req;
struct worker;
struct service;

/* The payments service's own settings (service.c declares them). */
struct payments_settings {
	int payment_gateway;    /* PAYMENT_GATEWAY: index in service.c's gateways (0: simulator) */
	int gateway_latency_ms; /* GATEWAY_LATENCY_MS of the card gateway simulator */
};

void payments_create(struct req *r);
void payments_get(struct req *r);
void payments_list(struct req *r);
void payments_refund(struct req *r);
void payments_internal_refund(struct req *r);

/* The tick child: charge claimed payments, relay the outbox. */
void payments_tick(struct worker *w);
/* The gauges of /metrics (service.h): the processing backlog
 * (payments_pending, payments_oldest_pending_seconds) and the outbox's. */
int payments_gauges(struct worker *w, struct buf *out);

/* Copy the digits of s (spaces and dashes allowed between them) into out
 * (size >= 20): 0 when that is 12-19 digits passing the Luhn check, -1
 * otherwise (out is then zeroed). */
int payments_card_number(const char *s, char *out, size_t outlen);
/* 1 when digits (only digits) pass the Luhn check. */
int payments_luhn(const char *digits);
/* The card brand from its leading digits: "visa", "mastercard", "amex",
 * "discover", or "unknown". */
const char *payments_card_brand(const char *digits);

/* What the pool declares (service.c): routes, settings, peers, hooks. */
extern const struct service payments_service;

#endif
