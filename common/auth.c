/* auth.c - user tokens, password hashes and constant-time comparison.
 * Tokens: JWT HS256 through libjwt 1.10, which would accept alg "none"
 * with an empty key and never checks exp, so this module refuses short
 * keys, requires HS256 after decoding and checks iat/exp itself.
 * Passwords: yescrypt through libxcrypt's crypt_rn (crypt_r returns
 * "*0" on failure instead of NULL). */
#include <crypt.h>
#include <errno.h>
#include <jwt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "hash.h"
#include "mem.h"

#define KEY_MIN 32
#define SKEW    60 /* seconds of clock difference tolerated for iat */

int auth_equal(const void *a, size_t alen, const void *b, size_t blen)
{
	const unsigned char *x = a, *y = b;
	size_t n = alen > blen ? alen : blen;
	unsigned char diff = alen != blen;

	for (size_t i = 0; i < n; i++)
		diff |= (i < alen ? x[i] : 0) ^ (i < blen ? y[i] : 0);
	return diff == 0;
}

char *auth_token_issue(const char *key, struct auth_claims *c, int64_t now, int64_t seconds)
{
	jwt_t *jwt = NULL;
	char *token = NULL;

	if (key == NULL || strlen(key) < KEY_MIN || jwt_new(&jwt) != 0)
		return NULL;
	c->iat = now;
	c->exp = now + seconds;
	if (jwt_add_grant(jwt, "sub", c->sub) || jwt_add_grant_int(jwt, "uid", (long)c->uid) ||
	    jwt_add_grant(jwt, "role", c->admin ? "admin" : "user") ||
	    jwt_add_grant_int(jwt, "iat", (long)c->iat) ||
	    jwt_add_grant_int(jwt, "exp", (long)c->exp) ||
	    jwt_set_alg(jwt, JWT_ALG_HS256, (const unsigned char *)key, (int)strlen(key)))
		goto out;
	token = jwt_encode_str(jwt);
out:
	jwt_free(jwt);
	return token;
}

/* An integer claim; -1 when absent or not a positive integer. */
static int64_t int_claim(jwt_t *jwt, const char *name)
{
	errno = 0;
	long v = jwt_get_grant_int(jwt, name);
	return errno || v <= 0 ? -1 : (int64_t)v;
}

static int read_claims(jwt_t *jwt, int64_t now, struct auth_claims *out)
{
	const char *sub = jwt_get_grant(jwt, "sub");
	const char *role = jwt_get_grant(jwt, "role");

	out->uid = int_claim(jwt, "uid");
	out->iat = int_claim(jwt, "iat");
	out->exp = int_claim(jwt, "exp");
	if (out->uid <= 0 || out->iat <= 0 || out->exp <= 0 || sub == NULL || role == NULL)
		return -1;
	if (out->iat > now + SKEW || now >= out->exp)
		return -1;
	if (*sub == '\0' || strlen(sub) >= sizeof(out->sub))
		return -1;
	if (strcmp(role, "admin") != 0 && strcmp(role, "user") != 0)
		return -1;
	memcpy(out->sub, sub, strlen(sub) + 1);
	out->admin = strcmp(role, "admin") == 0;
	return 0;
}

/* Per process: tokens whose signature was good, with their claims. The
 * HMAC and libjwt's JSON parse were half of an authenticated read; a
 * token comes back many times in its lifetime, its bytes never change,
 * so a token byte for byte equal to one verified under the same key has
 * the same signature and claims. Only the times are checked again. A
 * slot is chosen by the token's own hash and compared in constant time,
 * so timing tells a caller nothing about the tokens of others; failures
 * are never kept. */
#define VERIFIED_SLOTS     64
#define VERIFIED_TOKEN_MAX 512
#define VERIFIED_KEY_MAX   256
struct verified {
	char key[VERIFIED_KEY_MAX];
	char token[VERIFIED_TOKEN_MAX];
	size_t len;
	struct auth_claims claims;
};
static struct verified verified[VERIFIED_SLOTS];

static struct verified *verified_slot(const char *token, size_t len)
{
	return &verified[hash_bytes(HASH_SEED, token, len) % VERIFIED_SLOTS];
}

int auth_token_verify(const char *key, const char *token, int64_t now, struct auth_claims *out)
{
	jwt_t *jwt = NULL;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (key == NULL || strlen(key) < KEY_MIN || token == NULL || *token == '\0' ||
	    strlen(token) > 4096)
		return -1;
	size_t len = strlen(token);
	int keep = len < VERIFIED_TOKEN_MAX && strlen(key) < VERIFIED_KEY_MAX;
	struct verified *v = verified_slot(token, len);
	if (keep && v->len == len && auth_equal(v->token, v->len, token, len) &&
	    strcmp(v->key, key) == 0) {
		if (v->claims.iat > now + SKEW || now >= v->claims.exp)
			return -1;
		*out = v->claims;
		return 0;
	}
	if (jwt_decode(&jwt, token, (const unsigned char *)key, (int)strlen(key)) != 0 ||
	    jwt == NULL)
		return -1;
	if (jwt_get_alg(jwt) == JWT_ALG_HS256)
		rc = read_claims(jwt, now, out);
	jwt_free(jwt);
	if (rc < 0) {
		memset(out, 0, sizeof(*out));
	} else if (keep) {
		memcpy(v->key, key, strlen(key) + 1);
		memcpy(v->token, token, len + 1);
		v->len = len;
		v->claims = *out;
	}
	return rc;
}

const char *auth_bearer(const char *header)
{
	if (header == NULL)
		return NULL;
	while (*header == ' ')
		header++;
	if (strncasecmp(header, "bearer ", 7) != 0)
		return NULL;
	header += 7;
	while (*header == ' ')
		header++;
	return *header ? header : NULL;
}

int auth_password_hash(const char *pw, char *out, size_t outlen)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd = xcalloc(1, sizeof(*cd));
	int rc = -1;

	if (crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof(salt)) == NULL)
		goto out;
	if (crypt_rn(pw, salt, cd, sizeof(*cd)) == NULL || cd->output[0] == '*')
		goto out;
	if (strlen(cd->output) >= outlen)
		goto out;
	memcpy(out, cd->output, strlen(cd->output) + 1);
	rc = 0;
out:
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return rc;
}

int auth_password_verify(const char *pw, const char *hash)
{
	struct crypt_data *cd = xcalloc(1, sizeof(*cd));
	int ok = 0;

	if (hash && *hash == '$' && crypt_rn(pw, hash, cd, sizeof(*cd)) != NULL &&
	    cd->output[0] != '*')
		ok = auth_equal(cd->output, strlen(cd->output), hash, strlen(hash));
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return ok;
}

void auth_password_dummy(const char *pw)
{
	static char dummy[AUTH_HASH_MAX];

	if (dummy[0] == '\0' &&
	    auth_password_hash("flightops-dummy-password", dummy, sizeof(dummy)) < 0)
		return;
	(void)auth_password_verify(pw, dummy);
}
