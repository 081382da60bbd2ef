/* gateway.c - the built-in gateway simulator. It declines the test card
 * 4000000000000002 and approves every other valid number, after
 * GATEWAY_LATENCY_MS. Tokens record the simulator's decision (a real
 * gateway's tokens are opaque); charges are kept in its own ledger table
 * by idempotency key, so the same key is never charged twice. */
#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "db.h"
#include "gateway.h"
#include "worker.h"

#define DECLINED_CARD "4000000000000002"

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

static void pause_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (ms > 0 && nanosleep(&ts, &ts) != 0)
		;
}

enum gateway_outcome gateway_charge(struct worker *w, const char *token, int64_t amount_cents,
                                    const char *key)
{
	char cents[24], approve[8];
	const char *p[] = {key, token, cents, approve};

	pause_ms(w->conf->gateway_latency_ms);
	snprintf(cents, sizeof(cents), "%lld", (long long)amount_cents);
	snprintf(approve, sizeof(approve), "%s",
	         strncmp(token, "tok_sim_ok_", 11) == 0 ? "true" : "false");
	PGresult *res = db_exec(w->db,
	                        "WITH n AS (INSERT INTO gateway_charges (idempotency_key, token, "
	                        "amount_cents, approved) VALUES ($1, $2, $3, $4) "
	                        "ON CONFLICT (idempotency_key) DO NOTHING RETURNING approved) "
	                        "SELECT approved FROM n UNION ALL "
	                        "SELECT approved FROM gateway_charges WHERE idempotency_key = $1 "
	                        "LIMIT 1",
	                        4, p);
	if (res == NULL || PQntuples(res) == 0) {
		PQclear(res);
		return GATEWAY_UNAVAILABLE;
	}
	int ok = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	return ok ? GATEWAY_APPROVED : GATEWAY_DECLINED;
}

int gateway_refund(struct worker *w, const char *key)
{
	const char *p[] = {key};

	pause_ms(w->conf->gateway_latency_ms);
	PGresult *res =
	        db_exec(w->db,
	                "UPDATE gateway_charges SET refunded_at = coalesce(refunded_at, now()) "
	                "WHERE idempotency_key = $1 AND approved",
	                1, p);
	PQclear(res);
	return res ? 0 : -1;
}
