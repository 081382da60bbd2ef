/* auth.h - user tokens (JWT HS256 on libjwt 1.10), password hashes
 * (libxcrypt yescrypt) and constant-time comparison.
 * libjwt 1.10 accepts alg "none" with an empty key and never checks exp:
 * this module pins HS256, refuses empty keys and checks iat/exp itself. */
#ifndef FO_AUTH_H
#define FO_AUTH_H

#include <stddef.h>
#include <stdint.h>

#define AUTH_SUB_MAX  64
#define AUTH_HASH_MAX 128

struct auth_claims {
	int64_t uid;            /* "uid" */
	char sub[AUTH_SUB_MAX]; /* "sub": the username */
	int admin;              /* "role" == "admin" */
	int64_t iat;
	int64_t exp;
};

/* Sign claims (uid, sub, admin) valid from now for seconds. Sets iat and
 * exp in c. Returns a malloc'd token, or NULL if key is shorter than 32
 * bytes or signing fails. */
char *auth_token_issue(const char *key, struct auth_claims *c, int64_t now, int64_t seconds);
/* Verify a token: HS256 only, good signature, iat <= now + 60, now < exp,
 * uid > 0, sub non-empty, role "user" or "admin". 0 and *out filled, or -1. */
int auth_token_verify(const char *key, const char *token, int64_t now, struct auth_claims *out);
/* The token of an "Authorization: Bearer <token>" value (scheme matched
 * case-insensitively), or NULL. Points into header. */
const char *auth_bearer(const char *header);

/* Hash pw with yescrypt into out (size >= AUTH_HASH_MAX): 0 or -1. */
int auth_password_hash(const char *pw, char *out, size_t outlen);
/* 1 when pw matches hash, 0 otherwise (also for a malformed hash).
 * The comparison is constant-time. */
int auth_password_verify(const char *pw, const char *hash);
/* Spend the time of one verification; for unknown users. */
void auth_password_dummy(const char *pw);

/* Constant-time equality of two byte strings (time depends on lengths
 * only). 1 equal, 0 not. */
int auth_equal(const void *a, size_t alen, const void *b, size_t blen);

#endif
