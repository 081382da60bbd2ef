/* gateway.h - the payment gateway interface, and the built-in simulator
 * behind it. A real gateway replaces gateway.c: tokenise the card while
 * the request has it, later charge and refund by token, always with an
 * idempotency key so a retry is answered instead of charged again. */
#ifndef PAYMENTS_GATEWAY_H
#define PAYMENTS_GATEWAY_H

#include <stddef.h>
#include <stdint.h>

struct worker;

#define GATEWAY_TOKEN_MAX 64

enum gateway_outcome {
	GATEWAY_APPROVED = 0,
	GATEWAY_DECLINED,
	GATEWAY_UNAVAILABLE, /* no answer: try again later */
};

/* Exchange a card number for a token to charge later; the number itself
 * is never kept. 0, or -1. */
int gateway_tokenize(struct worker *w, const char *card_number, char *token, size_t len);
/* Charge amount_cents to token once per key. */
enum gateway_outcome gateway_charge(struct worker *w, const char *token, int64_t amount_cents,
                                    const char *key);
/* Refund the charge made under key (refunding twice is fine). 0 or -1. */
int gateway_refund(struct worker *w, const char *key);

#endif
