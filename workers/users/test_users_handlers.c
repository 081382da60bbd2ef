/* test_users_handlers.c - the users handlers through the real route table
 * (tests/harness), with the store in memory (fake_store.c) and Redis
 * unreachable: the failed-login limit then fails open, as it does in
 * production. Seeded: 1 "root" (admin), 5 "alice" and 6 "mallory"
 * (deactivated), both with the password PASSWORD. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "fake_store.h"
#include "harness.h"
#include "service.h"
#include "users.h"

#define PASSWORD "correct horse"

static struct worker w;
static struct conf conf;
static const char *admin, *alice, *mallory, *ghost;
static char hash[AUTH_HASH_MAX];
/* The harness's current response (harness_call), by a short name. */
static const struct harness_response *const res = &harness_res;

static int start(void **state)
{
	static const char *const extra[] = {"LOGIN_MAX_FAILURES=2", "ADMIN_USERNAME=boss",
	                                    "ADMIN_PASSWORD=boss password",
	                                    "ADMIN_EMAIL=boss@example.com", NULL};

	(void)state;
	harness_worker_init(&w, &conf, &users_service, extra);
	assert_int_equal(auth_password_hash(PASSWORD, hash, sizeof(hash)), 0);
	admin = harness_token(1, "root", 1);
	alice = harness_token(5, "alice", 0);
	mallory = harness_token(6, "mallory", 0);
	ghost = harness_token(99, "ghost", 0);
	return 0;
}

static int stop(void **state)
{
	(void)state;
	harness_worker_release(&w, &conf, &users_service);
	return 0;
}

static void seed(int64_t id, const char *username, const char *role, int active)
{
	struct user u = {.id = id, .is_active = active, .created_at = "2025-06-01T12:00:00Z"};

	snprintf(u.email, sizeof(u.email), "%s@example.com", username);
	snprintf(u.username, sizeof(u.username), "%s", username);
	snprintf(u.full_name, sizeof(u.full_name), "%s Example", username);
	snprintf(u.role, sizeof(u.role), "%s", role);
	snprintf(u.password_hash, sizeof(u.password_hash), "%s", hash);
	fake_user_put(&u);
}

static int reset(void **state)
{
	(void)state;
	fake_store_reset();
	seed(1, "root", "admin", 1);
	seed(5, "alice", "user", 1);
	seed(6, "mallory", "user", 0);
	return 0;
}

/* POST /token with a form body. */
static void login_form(const char *form)
{
	char length[48];

	snprintf(length, sizeof(length), "CONTENT_LENGTH=%zu", strlen(form));
	const char *const params[] = {"REQUEST_METHOD=POST",
	                              "DOCUMENT_URI=/token",
	                              "QUERY_STRING=",
	                              "CONTENT_TYPE=application/x-www-form-urlencoded",
	                              length,
	                              NULL};
	harness_call_run(&w, params, form, strlen(form));
}

/* A 401 that asks for a bearer token, as RFC 6750 wants. */
static void expect_unauthorized(const char *detail)
{
	const char *v;

	harness_expect_error(401, detail);
	v = harness_res_header("WWW-Authenticate");
	assert_non_null(v);
	assert_string_equal(v, "Bearer");
}

/* The public user body: its fields, never the password hash. */
static void expect_user(int64_t id, const char *username, const char *role)
{
	assert_int_equal(harness_int(res, "id"), id);
	assert_string_equal(harness_str(res, "username"), username);
	assert_string_equal(harness_str(res, "role"), role);
	assert_true(json_object_get_boolean(json_object_object_get(res->json, "is_active")));
	assert_non_null(harness_str(res, "email"));
	assert_non_null(harness_str(res, "full_name"));
	assert_non_null(harness_str(res, "created_at"));
	assert_int_equal(json_object_object_length(res->json), 7);
}

/* ---- POST /register -------------------------------------------------- */

#define REGISTRATION(email, username)                                                              \
	"{\"email\": \"" email "\", \"username\": \"" username "\", "                              \
	"\"full_name\": \"Carol Example\", \"password\": \"s3cret pass\"}"

static void register_user(void **state)
{
	(void)state;
	harness_call(&w, "POST", "/register", NULL, REGISTRATION("carol@example.com", "carol"));
	assert_int_equal(res->status, 201);
	expect_user(FAKE_FIRST_ID, "carol", "user");
	assert_string_equal(harness_str(res, "email"), "carol@example.com");
	assert_string_equal(harness_str(res, "full_name"), "Carol Example");
	assert_string_equal(harness_str(res, "created_at"), FAKE_CREATED_AT);
	const struct user *u = fake_user(FAKE_FIRST_ID);
	assert_non_null(u);
	assert_true(auth_password_verify("s3cret pass", u->password_hash));
	assert_null(strstr(res->body, u->password_hash));
}

static void register_taken(void **state)
{
	(void)state;
	harness_call(&w, "POST", "/register", NULL, REGISTRATION("ALICE@example.com", "carol"));
	harness_expect_error(409, "Email already registered");
	harness_call(&w, "POST", "/register", NULL, REGISTRATION("carol@example.com", "Alice"));
	harness_expect_error(409, "Username already taken");
	harness_call(&w, "POST", "/register", NULL, REGISTRATION("alice@example.com", "alice"));
	harness_expect_error(409, "Email already registered");
	assert_null(fake_user(FAKE_FIRST_ID));
	/* answered before hashing: the insert is never tried */
	assert_int_equal(fake_store_calls("create"), 0);
	assert_int_equal(fake_store_calls("taken"), 3);
}

/* Another request took the name between the check and the insert: the
 * unique index still answers 409. */
static void register_race_still_409(void **state)
{
	(void)state;
	fake_store_fail("create", STORE_CONFLICT);
	harness_call(&w, "POST", "/register", NULL, REGISTRATION("carol@example.com", "carol"));
	harness_expect_error(409, "Username already taken");
	fake_store_fail("create", STORE_OK);
}

static void register_invalid(void **state)
{
	(void)state;
	harness_call(&w, "POST", "/register", NULL, "{}");
	assert_non_null(harness_invalid("email", "missing"));
	assert_non_null(harness_invalid("username", "missing"));
	assert_non_null(harness_invalid("full_name", "missing"));
	assert_non_null(harness_invalid("password", "missing"));
	harness_call(&w, "POST", "/register", NULL, REGISTRATION("carol@localhost", "carol smith"));
	assert_non_null(harness_invalid("email", "value_error"));
	assert_non_null(harness_invalid("username", "string_pattern_mismatch"));
	harness_call(&w, "POST", "/register", NULL,
	             "{\"email\": \"c@example.com\", \"username\": \"cc\", \"full_name\": \"\", "
	             "\"password\": \"short\"}");
	assert_non_null(harness_invalid("username", "string_too_short"));
	assert_non_null(harness_invalid("full_name", "string_too_short"));
	assert_non_null(harness_invalid("password", "string_too_short"));
	harness_call(&w, "POST", "/register", NULL, "{\"email\": ");
	assert_int_equal(res->status, 400);
	assert_int_equal(fake_store_calls("create"), 0);
}

static void register_db_down(void **state)
{
	(void)state;
	fake_store_fail("create", STORE_ERROR);
	harness_call(&w, "POST", "/register", NULL, REGISTRATION("carol@example.com", "carol"));
	harness_expect_error(503, "Database unavailable");
}

/* ---- POST /token ----------------------------------------------------- */

/* The token in a 200 body is alice's, for ACCESS_TOKEN_MINUTES. */
static void expect_token(int64_t uid, const char *sub, int is_admin)
{
	struct auth_claims c;

	assert_int_equal(res->status, 200);
	assert_string_equal(harness_str(res, "token_type"), "bearer");
	assert_int_equal(harness_int(res, "expires_in"), 30 * 60);
	assert_int_equal(
	        auth_token_verify(HARNESS_SECRET, harness_str(res, "access_token"), time(NULL), &c),
	        0);
	assert_int_equal(c.uid, uid);
	assert_string_equal(c.sub, sub);
	assert_int_equal(c.admin, is_admin);
}

static void token(void **state)
{
	(void)state;
	harness_call(&w, "POST", "/token", NULL,
	             "{\"username\": \"Alice\", \"password\": \"" PASSWORD "\"}");
	expect_token(5, "alice", 0);
	login_form("username=root&password=correct+horse");
	expect_token(1, "root", 1);
}

static void token_refused(void **state)
{
	(void)state;
	harness_call(&w, "POST", "/token", NULL,
	             "{\"username\": \"alice\", \"password\": \"wrong horse\"}");
	expect_unauthorized("Incorrect username or password");
	harness_call(&w, "POST", "/token", NULL,
	             "{\"username\": \"nobody\", \"password\": \"" PASSWORD "\"}");
	expect_unauthorized("Incorrect username or password");
	/* the right password of a deactivated user */
	login_form("username=mallory&password=correct+horse");
	expect_unauthorized("Incorrect username or password");
	login_form("username=alice");
	assert_non_null(harness_invalid("password", "missing"));
	harness_call(&w, "POST", "/token", NULL, "{\"username\": \"alice\"}");
	assert_non_null(harness_invalid("password", "missing"));
	/* bytes that are not UTF-8 are refused before the database sees them */
	login_form("username=%ff%fe&password=x");
	assert_non_null(harness_invalid("username", "string_unicode"));
	login_form("username=alice&password=%c3%28");
	assert_non_null(harness_invalid("password", "string_unicode"));
	fake_store_fail("by_username", STORE_ERROR);
	harness_call(&w, "POST", "/token", NULL,
	             "{\"username\": \"alice\", \"password\": \"" PASSWORD "\"}");
	harness_expect_error(503, "Database unavailable");
}

/* POST /token as Swagger UI's Authorize (OAuth2 password flow) sends it:
 * grant_type and an empty scope beside the credentials (%20 for spaces),
 * and a client id in the body or as HTTP Basic when the user gives one.
 * The extra fields and the Basic header are ignored, not refused. */
static void login_oauth2(const char *form, const char *authorization)
{
	char length[48], auth[128];

	snprintf(length, sizeof(length), "CONTENT_LENGTH=%zu", strlen(form));
	snprintf(auth, sizeof(auth), "HTTP_AUTHORIZATION=%s", authorization);
	const char *const params[] = {"REQUEST_METHOD=POST",
	                              "DOCUMENT_URI=/token",
	                              "QUERY_STRING=",
	                              "CONTENT_TYPE=application/x-www-form-urlencoded",
	                              "HTTP_ACCEPT=application/json, text/plain, */*",
	                              "HTTP_X_REQUESTED_WITH=XMLHttpRequest",
	                              length,
	                              auth,
	                              NULL};
	harness_call_run(&w, params, form, strlen(form));
}

static void token_oauth2_password_flow(void **state)
{
	(void)state;
	login_oauth2("grant_type=password&username=alice&password=correct%20horse&scope=", "");
	expect_token(5, "alice", 0);
	login_oauth2("grant_type=password&username=root&password=correct%20horse&scope=read%20write"
	             "&client_id=docs",
	             "");
	expect_token(1, "root", 1);
	/* client id "docs", no secret: Basic base64("docs:") */
	login_oauth2("grant_type=password&username=alice&password=correct%20horse&scope=",
	             "Basic ZG9jczo=");
	expect_token(5, "alice", 0);
	login_oauth2("grant_type=password&username=alice&password=wrong&scope=", "Basic ZG9jczo=");
	expect_unauthorized("Incorrect username or password");
	login_oauth2("grant_type=password&username=&password=&scope=", "");
	assert_non_null(harness_invalid("username", "missing"));
	assert_non_null(harness_invalid("password", "missing"));
}

/* With Redis down failures are not counted: no lock-out (logged). */
static void token_limit_fails_open(void **state)
{
	(void)state;
	for (int i = 0; i < 4; i++) { /* LOGIN_MAX_FAILURES is 2 here */
		login_form("username=alice&password=guess");
		expect_unauthorized("Incorrect username or password");
	}
	login_form("username=alice&password=correct+horse");
	expect_token(5, "alice", 0);
}

/* ---- GET /users/me, /users/:id --------------------------------------- */

static void me(void **state)
{
	(void)state;
	harness_call(&w, "GET", "/users/me", alice, NULL);
	assert_int_equal(res->status, 200);
	expect_user(5, "alice", "user");
	harness_call(&w, "GET", "/users/me", NULL, NULL);
	expect_unauthorized("Not authenticated");
}

static void me_no_longer_valid(void **state)
{
	(void)state;
	harness_call(&w, "GET", "/users/me", mallory, NULL); /* deactivated since the token */
	expect_unauthorized("Could not validate credentials");
	harness_call(&w, "GET", "/users/me", ghost, NULL); /* deleted */
	expect_unauthorized("Could not validate credentials");
	fake_store_fail("by_id", STORE_ERROR);
	/* alice asked within USER_CHECK_SECONDS (me): her answer is kept */
	harness_call(&w, "GET", "/users/me", alice, NULL);
	assert_int_equal(res->status, 200);
	expect_user(5, "alice", "user");
	/* root's is not */
	fake_store_fail("by_id", STORE_ERROR);
	harness_call(&w, "GET", "/users/me", admin, NULL);
	harness_expect_error(503, "Database unavailable");
}

static void get_by_admin(void **state)
{
	(void)state;
	harness_call(&w, "GET", "/users/5", admin, NULL);
	assert_int_equal(res->status, 200);
	expect_user(5, "alice", "user");
	harness_call(&w, "GET", "/users/6", admin, NULL); /* deactivated users too */
	assert_int_equal(res->status, 200);
	assert_false(json_object_get_boolean(json_object_object_get(res->json, "is_active")));
	harness_call_service(&w, "GET", "/internal/users/1", NULL);
	assert_int_equal(res->status, 200);
	expect_user(1, "root", "admin");
}

static void get_refused(void **state)
{
	(void)state;
	harness_call(&w, "GET", "/users/99", admin, NULL);
	harness_expect_error(404, "User not found");
	harness_call(&w, "GET", "/users/abc", admin, NULL);
	harness_expect_error(404, "Not Found");
	harness_call(&w, "GET", "/users/1", alice, NULL);
	harness_expect_error(403, "Not enough permissions");
	harness_call(&w, "GET", "/internal/users/1", admin, NULL);
	harness_expect_error(403, "Not enough permissions");
	/* a wrong service key is a 401 that names a scheme, like every 401 */
	const char *const wrong_key[] = {"REQUEST_METHOD=GET", "DOCUMENT_URI=/internal/users/1",
	                                 "QUERY_STRING=", "HTTP_X_SERVICE_KEY=not-the-key", NULL};
	harness_call_run(&w, wrong_key, NULL, 0);
	expect_unauthorized("Invalid service credential");
	fake_store_fail("by_id", STORE_ERROR);
	harness_call(&w, "GET", "/users/5", admin, NULL);
	harness_expect_error(503, "Database unavailable");
}

/* ---- the start hook -------------------------------------------------- */

static void bootstrap(void **state)
{
	(void)state;
	assert_int_equal(users_bootstrap(&w), 0);
	const struct user *u = fake_user(FAKE_FIRST_ID);
	assert_non_null(u);
	assert_string_equal(u->username, "boss");
	assert_string_equal(u->email, "boss@example.com");
	assert_string_equal(u->role, "admin");
	assert_true(auth_password_verify("boss password", u->password_hash));
	assert_int_equal(users_bootstrap(&w), 0); /* there already */
	assert_int_equal(fake_store_calls("create"), 1);
	harness_call(&w, "POST", "/token", NULL,
	             "{\"username\": \"boss\", \"password\": \"boss password\"}");
	expect_token(FAKE_FIRST_ID, "boss", 1);
	fake_store_reset();
	fake_store_fail(NULL, STORE_ERROR);
	assert_int_equal(users_bootstrap(&w), -1);
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, reset, harness_done)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        TEST(register_user),
	        TEST(register_taken),
	        TEST(register_race_still_409),
	        TEST(register_invalid),
	        TEST(register_db_down),
	        TEST(token),
	        TEST(token_refused),
	        TEST(token_oauth2_password_flow),
	        TEST(token_limit_fails_open),
	        TEST(me),
	        TEST(me_no_longer_valid),
	        TEST(get_by_admin),
	        TEST(get_refused),
	        TEST(bootstrap),
	};
	return cmocka_run_group_tests(tests, start, stop);
}
