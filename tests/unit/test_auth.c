/* test_auth.c - auth.h: HS256 token issue/verify (wrong key, expiry, iat
 * in the future, tampering, alg none, other algorithms, short keys, bad
 * claims), Bearer parsing, password hashing and constant-time equality. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jwt.h>

#include "auth.h"
#include "harness.h"

#define KEY  "0123456789abcdef0123456789abcdef"
#define KEY2 "0123456789abcdef0123456789abcdeX"
#define NOW  INT64_C(1700000000)
#define LIFE 1800

static char *issue(const char *key, int64_t uid, const char *sub, int admin, int64_t now)
{
	struct auth_claims c;
	memset(&c, 0, sizeof(c));
	c.uid = uid;
	snprintf(c.sub, sizeof(c.sub), "%s", sub);
	c.admin = admin;
	return auth_token_issue(key, &c, now, LIFE);
}

static void b64url(const unsigned char *in, size_t n, char *out)
{
	static const char tab[] =
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = tab[(v >> 18) & 63];
		out[o++] = tab[(v >> 12) & 63];
		if (i + 1 < n)
			out[o++] = tab[(v >> 6) & 63];
		if (i + 2 < n)
			out[o++] = tab[v & 63];
	}
	out[o] = '\0';
}

/* header.payload.sig from raw JSON texts and a raw signature part. */
static char *hand_token(const char *header, const char *payload, const char *sig)
{
	char *t = malloc(4096);
	assert_non_null(t);
	char h[1024], p[2048];
	assert_true(strlen(header) < 700 && strlen(payload) < 1400);
	b64url((const unsigned char *)header, strlen(header), h);
	b64url((const unsigned char *)payload, strlen(payload), p);
	snprintf(t, 4096, "%s.%s.%s", h, p, sig);
	return t;
}

/* A token signed by libjwt with alg over the JSON grants. */
static char *lib_token(jwt_alg_t alg, const char *key, const char *grants)
{
	jwt_t *j = NULL;
	assert_int_equal(jwt_new(&j), 0);
	assert_int_equal(jwt_add_grants_json(j, grants), 0);
	assert_int_equal(jwt_set_alg(j, alg, (const unsigned char *)key, (int)strlen(key)), 0);
	char *t = jwt_encode_str(j);
	assert_non_null(t);
	jwt_free(j);
	return t;
}

/* alice's claims (uid 7) with role, issued at NOW for LIFE, as JSON
 * into out. */
static const char *alice_claims(const char *role, char *out, size_t len)
{
	snprintf(out, len,
	         "{\"sub\":\"alice\",\"uid\":7,\"role\":\"%s\",\"iat\":%lld,\"exp\":%lld}", role,
	         (long long)NOW, (long long)(NOW + LIFE));
	return out;
}

static void test_round_trip(void **state)
{
	(void)state;
	struct auth_claims c;
	memset(&c, 0, sizeof(c));
	c.uid = 7;
	strcpy(c.sub, "alice");
	c.admin = 0;
	char *t = auth_token_issue(KEY, &c, NOW, LIFE);
	assert_non_null(t);
	assert_int_equal(c.iat, NOW);
	assert_int_equal(c.exp, NOW + LIFE);
	/* three base64url parts */
	int dots = 0;
	for (const char *p = t; *p; p++) {
		dots += *p == '.';
		assert_true(*p == '.' || *p == '-' || *p == '_' || (*p >= '0' && *p <= '9') ||
		            (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'));
	}
	assert_int_equal(dots, 2);

	struct auth_claims out;
	memset(&out, 0xff, sizeof(out));
	assert_int_equal(auth_token_verify(KEY, t, NOW + 10, &out), 0);
	assert_int_equal(out.uid, 7);
	assert_string_equal(out.sub, "alice");
	assert_int_equal(out.admin, 0);
	assert_int_equal(out.iat, NOW);
	assert_int_equal(out.exp, NOW + LIFE);
	free(t);

	t = issue(KEY, 1, "root", 1, NOW);
	assert_int_equal(auth_token_verify(KEY, t, NOW, &out), 0);
	assert_int_equal(out.admin, 1);
	assert_string_equal(out.sub, "root");
	free(t);
}

static void test_wrong_key(void **state)
{
	(void)state;
	struct auth_claims out;
	char *t = issue(KEY, 7, "alice", 0, NOW);
	assert_int_equal(auth_token_verify(KEY2, t, NOW, &out), -1);
	assert_int_equal(auth_token_verify(KEY "extra", t, NOW, &out), -1);
	free(t);
}

static void test_expiry(void **state)
{
	(void)state;
	struct auth_claims out;
	char *t = issue(KEY, 7, "alice", 0, NOW);
	assert_int_equal(auth_token_verify(KEY, t, NOW + LIFE - 1, &out), 0);
	assert_int_equal(auth_token_verify(KEY, t, NOW + LIFE, &out), -1);
	assert_int_equal(auth_token_verify(KEY, t, NOW + LIFE + 86400, &out), -1);
	free(t);
}

/* A token verified once is taken from the process's cache next time:
 * the same answers as a full check, the times checked again, other keys
 * and changed tokens still refused. */
static void test_verified_again(void **state)
{
	(void)state;
	struct auth_claims out;
	char *t = issue(KEY, 9, "carol", 1, NOW);
	assert_int_equal(auth_token_verify(KEY, t, NOW, &out), 0);
	for (int i = 0; i < 3; i++) {
		memset(&out, 0xff, sizeof(out));
		assert_int_equal(auth_token_verify(KEY, t, NOW + i, &out), 0);
		assert_int_equal(out.uid, 9);
		assert_string_equal(out.sub, "carol");
		assert_int_equal(out.admin, 1);
		assert_int_equal(out.exp, NOW + LIFE);
	}
	assert_int_equal(auth_token_verify(KEY, t, NOW + LIFE, &out), -1);
	assert_int_equal(out.uid, 0);
	assert_int_equal(auth_token_verify(KEY2, t, NOW, &out), -1);
	char *s = strdup(t);
	char *sig = strrchr(s, '.') + 1;
	sig[3] = sig[3] == 'A' ? 'B' : 'A';
	assert_int_equal(auth_token_verify(KEY, s, NOW, &out), -1);
	s[strlen(s) - 1] = '\0'; /* a prefix of a verified token */
	assert_int_equal(auth_token_verify(KEY, s, NOW, &out), -1);
	free(s);
	assert_int_equal(auth_token_verify(KEY, t, NOW + 1, &out), 0);
	free(t);
}

static void test_iat_future(void **state)
{
	(void)state;
	struct auth_claims out;
	char *t = issue(KEY, 7, "alice", 0, NOW + 60);
	assert_int_equal(auth_token_verify(KEY, t, NOW, &out), 0); /* within skew */
	free(t);
	t = issue(KEY, 7, "alice", 0, NOW + 61);
	assert_int_equal(auth_token_verify(KEY, t, NOW, &out), -1);
	free(t);
	t = issue(KEY, 7, "alice", 0, NOW + 10 * 365 * 86400);
	assert_int_equal(auth_token_verify(KEY, t, NOW, &out), -1);
	free(t);
}

static void test_tampered(void **state)
{
	(void)state;
	struct auth_claims out;
	char *t = issue(KEY, 7, "alice", 0, NOW);
	char *d1 = strchr(t, '.');
	char *d2 = strchr(d1 + 1, '.');
	assert_non_null(d2);

	/* a new payload (admin role) with the original header and signature */
	char payload[256];
	alice_claims("admin", payload, sizeof(payload));
	char p64[512];
	b64url((const unsigned char *)payload, strlen(payload), p64);
	char forged[2048];
	snprintf(forged, sizeof(forged), "%.*s.%s%s", (int)(d1 - t), t, p64, d2);
	assert_int_equal(auth_token_verify(KEY, forged, NOW, &out), -1);

	/* one character of the signature changed */
	char *s = strdup(t);
	char *sig = strrchr(s, '.') + 1;
	assert_true(strlen(sig) > 20);
	sig[10] = sig[10] == 'A' ? 'B' : 'A';
	assert_int_equal(auth_token_verify(KEY, s, NOW, &out), -1);
	free(s);

	/* signature removed, or payload removed */
	s = strdup(t);
	*strrchr(s, '.') = '\0';
	assert_int_equal(auth_token_verify(KEY, s, NOW, &out), -1);
	strcat(s, ".");
	assert_int_equal(auth_token_verify(KEY, s, NOW, &out), -1);
	free(s);
	free(t);
}

static void test_alg_none(void **state)
{
	(void)state;
	struct auth_claims out;
	char payload[256];
	alice_claims("admin", payload, sizeof(payload));
	const char *headers[] = {"{\"alg\":\"none\",\"typ\":\"JWT\"}", "{\"alg\":\"none\"}",
	                         "{\"alg\":\"None\",\"typ\":\"JWT\"}", "{\"typ\":\"JWT\"}"};
	for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
		char *t = hand_token(headers[i], payload, "");
		assert_int_equal(auth_token_verify(KEY, t, NOW, &out), -1);
		/* an empty key never means "do not check" */
		assert_int_equal(auth_token_verify("", t, NOW, &out), -1);
		free(t);
	}
	/* alg none with a garbage signature */
	char *t = hand_token(headers[0], payload, "AAAA");
	assert_int_equal(auth_token_verify(KEY, t, NOW, &out), -1);
	free(t);
}

static void test_other_algorithms(void **state)
{
	(void)state;
	struct auth_claims out;
	char grants[256];
	alice_claims("user", grants, sizeof(grants));
	/* the same claims signed HS256 by libjwt are accepted (interop) */
	char *t = lib_token(JWT_ALG_HS256, KEY, grants);
	assert_int_equal(auth_token_verify(KEY, t, NOW, &out), 0);
	assert_int_equal(out.uid, 7);
	assert_string_equal(out.sub, "alice");
	free(t);
	const jwt_alg_t other[] = {JWT_ALG_HS512, JWT_ALG_HS384};
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		t = lib_token(other[i], KEY, grants);
		assert_int_equal(auth_token_verify(KEY, t, NOW, &out), -1);
		free(t);
	}
}

static void expect_claims_rejected(const char *grants)
{
	struct auth_claims out;
	char *t = lib_token(JWT_ALG_HS256, KEY, grants);
	if (auth_token_verify(KEY, t, NOW, &out) != -1)
		fail_msg("accepted claims %s", grants);
	free(t);
}

static void test_bad_claims(void **state)
{
	(void)state;
	char g[512];
	const long long iat = NOW, exp = NOW + LIFE;
	snprintf(g, sizeof(g),
	         "{\"sub\":\"a\",\"uid\":0,\"role\":\"user\",\"iat\":%lld,\"exp\":%lld}", iat, exp);
	expect_claims_rejected(g);
	snprintf(g, sizeof(g),
	         "{\"sub\":\"a\",\"uid\":-4,\"role\":\"user\",\"iat\":%lld,\"exp\":%lld}", iat,
	         exp);
	expect_claims_rejected(g);
	snprintf(g, sizeof(g), "{\"sub\":\"a\",\"role\":\"user\",\"iat\":%lld,\"exp\":%lld}", iat,
	         exp);
	expect_claims_rejected(g);
	snprintf(g, sizeof(g),
	         "{\"sub\":\"\",\"uid\":3,\"role\":\"user\",\"iat\":%lld,\"exp\":%lld}", iat, exp);
	expect_claims_rejected(g);
	snprintf(g, sizeof(g), "{\"uid\":3,\"role\":\"user\",\"iat\":%lld,\"exp\":%lld}", iat, exp);
	expect_claims_rejected(g);
	snprintf(g, sizeof(g),
	         "{\"sub\":\"a\",\"uid\":3,\"role\":\"root\",\"iat\":%lld,\"exp\":%lld}", iat, exp);
	expect_claims_rejected(g);
	snprintf(g, sizeof(g), "{\"sub\":\"a\",\"uid\":3,\"iat\":%lld,\"exp\":%lld}", iat, exp);
	expect_claims_rejected(g);
	snprintf(g, sizeof(g), "{\"sub\":\"a\",\"uid\":3,\"role\":\"user\",\"iat\":%lld}", iat);
	expect_claims_rejected(g);
}

static void test_long_sub(void **state)
{
	(void)state;
	char g[1024];
	char sub[300];
	memset(sub, 's', sizeof(sub) - 1);
	sub[sizeof(sub) - 1] = '\0';
	snprintf(g, sizeof(g),
	         "{\"sub\":\"%s\",\"uid\":3,\"role\":\"user\",\"iat\":%lld,\"exp\":%lld}", sub,
	         (long long)NOW, (long long)(NOW + LIFE));
	char *t = lib_token(JWT_ALG_HS256, KEY, g);
	struct auth_claims out;
	if (auth_token_verify(KEY, t, NOW, &out) == 0)
		assert_true(strlen(out.sub) < AUTH_SUB_MAX);
	free(t);
}

static void test_short_key(void **state)
{
	(void)state;
	struct auth_claims out;
	const char *k31 = "0123456789abcdef0123456789abcde";
	assert_null(issue(k31, 7, "alice", 0, NOW));
	assert_null(issue("", 7, "alice", 0, NOW));
	/* a good token with an empty key */
	char *t = issue(KEY, 7, "alice", 0, NOW);
	assert_int_equal(auth_token_verify("", t, NOW, &out), -1);
	free(t);
}

static void test_garbage_tokens(void **state)
{
	(void)state;
	struct auth_claims out;
	const char *bad[] = {"",    ".",           "..",
	                     "...", "a.b.c",       "abc",
	                     "a.b", "%%%.%%%.%%%", "eyJhbGciOiJIUzI1NiJ9.!!!.abc"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(auth_token_verify(KEY, bad[i], NOW, &out), -1);
	size_t n = 100000;
	char *big = malloc(n + 1);
	memset(big, 'A', n);
	big[n] = '\0';
	big[n / 3] = '.';
	big[2 * n / 3] = '.';
	assert_int_equal(auth_token_verify(KEY, big, NOW, &out), -1);
	free(big);
}

/* auth_bearer finds a token in the Authorization value h. */
static int has_token(const char *h)
{
	return auth_bearer(h) != NULL;
}

static void test_bearer(void **state)
{
	(void)state;
	const char *h = "Bearer abc.def.ghi";
	assert_ptr_equal(auth_bearer(h), h + 7);
	assert_string_equal(auth_bearer("bearer x"), "x");
	assert_string_equal(auth_bearer("BEARER tok"), "tok");
	assert_string_equal(auth_bearer("BeArEr tok"), "tok");
	HARNESS_RULE(has_token, 0, "Basic dXNlcjpwYXNz", "Bearer ", "Bearer", "", "Bearerabc",
	             "Bear abc", "xBearer abc");
}

static void test_password(void **state)
{
	(void)state;
	char h1[AUTH_HASH_MAX];
	char h2[AUTH_HASH_MAX];
	assert_int_equal(auth_password_hash("correct horse", h1, sizeof(h1)), 0);
	assert_int_equal(strncmp(h1, "$y$", 3), 0);
	assert_null(strstr(h1, "correct horse"));
	assert_int_equal(auth_password_verify("correct horse", h1), 1);
	assert_int_equal(auth_password_verify("correct horsE", h1), 0);
	assert_int_equal(auth_password_verify("correct horse ", h1), 0);
	assert_int_equal(auth_password_verify("", h1), 0);
	/* salted: the same password hashes differently */
	assert_int_equal(auth_password_hash("correct horse", h2, sizeof(h2)), 0);
	assert_string_not_equal(h1, h2);
	assert_int_equal(auth_password_verify("correct horse", h2), 1);
	/* UTF-8 and long passwords */
	assert_int_equal(auth_password_hash("p\xc3\xa4ssw\xc3\xb6rd-\xe2\x82\xac", h2, sizeof(h2)),
	                 0);
	assert_int_equal(auth_password_verify("p\xc3\xa4ssw\xc3\xb6rd-\xe2\x82\xac", h2), 1);
}

static void test_password_malformed_hash(void **state)
{
	(void)state;
	char h[AUTH_HASH_MAX];
	assert_int_equal(auth_password_hash("secret123", h, sizeof(h)), 0);
	char cut[AUTH_HASH_MAX];
	snprintf(cut, sizeof(cut), "%.*s", (int)strlen(h) - 5, h);
	const char *bad[] = {"",          "*0",           "*1",      "*",
	                     "$",         "$y$",          "$y$j9T$", "not-a-hash",
	                     "secret123", "$2b$10$short", "$1$abc",  cut};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (auth_password_verify("secret123", bad[i]) != 0)
			fail_msg("verify accepted hash '%s'", bad[i]);
}

static void test_password_dummy(void **state)
{
	(void)state;
	auth_password_dummy("whatever");
	auth_password_dummy("");
}

static void test_equal(void **state)
{
	(void)state;
	assert_int_equal(auth_equal("abc", 3, "abc", 3), 1);
	assert_int_equal(auth_equal("abc", 3, "abd", 3), 0);
	assert_int_equal(auth_equal("abc", 3, "abcd", 4), 0);
	assert_int_equal(auth_equal("abcd", 4, "abc", 3), 0);
	assert_int_equal(auth_equal("", 0, "", 0), 1);
	assert_int_equal(auth_equal("", 0, "a", 1), 0);
	assert_int_equal(auth_equal("a\0b", 3, "a\0b", 3), 1);
	assert_int_equal(auth_equal("a\0b", 3, "a\0c", 3), 0);
	assert_int_equal(auth_equal(KEY, 32, KEY2, 32), 0);
	assert_int_equal(auth_equal(KEY, 32, KEY, 32), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_round_trip),
	        cmocka_unit_test(test_wrong_key),
	        cmocka_unit_test(test_expiry),
	        cmocka_unit_test(test_verified_again),
	        cmocka_unit_test(test_iat_future),
	        cmocka_unit_test(test_tampered),
	        cmocka_unit_test(test_alg_none),
	        cmocka_unit_test(test_other_algorithms),
	        cmocka_unit_test(test_bad_claims),
	        cmocka_unit_test(test_long_sub),
	        cmocka_unit_test(test_short_key),
	        cmocka_unit_test(test_garbage_tokens),
	        cmocka_unit_test(test_bearer),
	        cmocka_unit_test(test_password),
	        cmocka_unit_test(test_password_malformed_hash),
	        cmocka_unit_test(test_password_dummy),
	        cmocka_unit_test(test_equal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
