/* idem.h - Idempotency-Key for POST routes (contract: the same key from
 * the same user with the same body returns the first answer again for
 * 24 h; another body under the key is 422; a repeat while the first still
 * runs is 409). Kept in the service database's idempotency_keys table
 * (sql/shared/idempotency/, in each service's `schemas`). */
#ifndef FO_IDEM_H
#define FO_IDEM_H

#include <stddef.h>

struct db;
struct req;

/* Run fn(r) at most once per (r->user.uid, r->idempotency_key), replaying
 * its status and body to repeats with the same hash; without a key, just
 * run fn(r). An answer of 500 or more is not kept, so a retry runs again.
 * hash names the request (idem_hash of its body, or of the fields that
 * matter when the body holds a secret). */
void idem_run(struct req *r, const char *hash, void (*fn)(struct req *r));
/* From inside fn's own transaction: record status and body as the answer
 * of r's key (nothing when r has none), so the answer commits or rolls
 * back with the change it reports and a retry after any crash finds it.
 * 0, or -1 (then roll back). */
int idem_record(struct db *db, const struct req *r, int status, const char *body);
/* Hex FNV-1a-style hash (its start value is kept as first deployed, so
 * stored hashes stay valid) of data plus its length, into out (>= 40 bytes). Not a
 * secret-safe digest: never feed it a card number. */
void idem_hash(const void *data, size_t len, char *out, size_t outlen);
/* Forget keys older than 24 hours. */
void idem_prune(struct db *db);

#endif
