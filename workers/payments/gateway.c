/* gateway.c - the built-in gateway simulator. It declines the test card
 * 4000000000000002 and approves every other valid number, after
 * GATEWAY_LATENCY_MS. Tokens record the simulator's decision (a real
 * gateway's tokens are opaque); charges are kept in its own ledger table
 * (store.h) by idempotency key, so the same key is never charged twice. */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "gateway.h"
#include "payments.h"
#include "store.h"
#include "worker.h"

#define DECLINED_CARD "4000000000000002"
#define OK_PREFIX     "tok_sim_ok_"

int gateway_tokenize(struct worker *w, const char *card_number, char *token, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[12];
	char tail[2 * sizeof(raw) + 1];

	(void)w;
	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return -1;
	for (size_t i = 0; i < sizeof(raw); i++) {
		tail[2 * i] = hex[raw[i] >> 4];
		tail[2 * i + 1] = hex[raw[i] & 15];
	}
	tail[2 * sizeof(raw)] = '\0';
	int decline = strcmp(card_number, DECLINED_CARD) == 0;
	snprintf(token, len, "tok_sim_%s_%s", decline ? "decline" : "ok", tail);
	return 0;
}

/* The simulated network and processing time. */
static void pause_latency(struct worker *w)
{
	int ms = ((const struct payments_settings *)w->settings)->gateway_latency_ms;
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (ms > 0 && nanosleep(&ts, &ts) != 0)
		;
}

enum gateway_outcome gateway_charge(struct worker *w, const char *token, int64_t amount_cents,
                                    const char *key)
{
	int approve = strncmp(token, OK_PREFIX, sizeof(OK_PREFIX) - 1) == 0, approved = 0;

	pause_latency(w);
	if (store_gateway_charge(w->db, key, token, amount_cents, approve, &approved) != STORE_OK)
		return GATEWAY_UNAVAILABLE;
	return approved ? GATEWAY_APPROVED : GATEWAY_DECLINED;
}

int gateway_refund(struct worker *w, const char *key)
{
	pause_latency(w);
	return store_gateway_refund(w->db, key) == STORE_OK ? 0 : -1;
}
