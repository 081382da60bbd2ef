/* test_conf.c - conf.h: defaults, parsing, and that every invalid value
 * makes conf_load fail with all problems listed at once. The environment
 * is a static table behind a fake getenv. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "log.h"

#define KEY_A  "0123456789abcdef0123456789abcdefA"
#define KEY_B  "fedcba9876543210fedcba9876543210B"
#define DB_URL "postgresql://flightops:pw@127.0.0.1:5433/flightops_users"

struct env_var {
	const char *name;
	const char *value;
};

#define ENV_MAX 32
static struct env_var env[ENV_MAX];

static const char *fake_getenv(const char *name)
{
	for (int i = 0; i < ENV_MAX && env[i].name; i++)
		if (strcmp(env[i].name, name) == 0)
			return env[i].value;
	return NULL;
}

/* Replace or add name (value NULL removes it). */
static void env_set(const char *name, const char *value)
{
	int i;
	for (i = 0; i < ENV_MAX && env[i].name; i++)
		if (strcmp(env[i].name, name) == 0)
			break;
	assert_true(i < ENV_MAX - 1);
	if (value == NULL) {
		for (; i < ENV_MAX - 1 && env[i].name; i++)
			env[i] = env[i + 1];
		return;
	}
	env[i].name = name;
	env[i].value = value;
}

/* The smallest valid environment. */
static int env_minimal(void **state)
{
	(void)state;
	memset(env, 0, sizeof(env));
	env_set("DATABASE_URL", DB_URL);
	env_set("SECRET_KEY", KEY_A);
	env_set("SERVICE_KEY", KEY_B);
	return 0;
}

/* conf_load into c; returns its result and leaves the errors in err. */
static int load(struct conf *c, struct buf *err)
{
	memset(c, 0, sizeof(*c));
	buf_init(err);
	return conf_load(c, "users", fake_getenv, err);
}

static void test_minimal_defaults(void **state)
{
	(void)state;
	struct conf c;
	struct buf err;
	assert_int_equal(load(&c, &err), 0);
	assert_string_equal(buf_str(&err), "");
	assert_string_equal(c.service, "users");
	assert_string_equal(c.database_url, DB_URL);
	assert_string_equal(c.secret_key, KEY_A);
	assert_string_equal(c.service_key, KEY_B);
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	long cores_conf = sysconf(_SC_NPROCESSORS_CONF);
	assert_true(c.workers == 2 * cores || c.workers == 2 * cores_conf);
	assert_int_equal(c.max_requests, 10000);
	assert_string_equal(c.redis_url, "redis://127.0.0.1:6379/0");
	assert_int_equal(c.access_token_minutes, 30);
	assert_string_equal(c.migrations_dir, "sql/users");
	assert_int_equal(c.log_level, LOG_LVL_INFO);
	assert_int_equal(c.body_max, 65536);
	assert_int_equal(c.login_max_failures, 10);
	assert_int_equal(c.login_window_seconds, 300);
	assert_int_equal(c.db_timeout_ms, 5000);
	assert_true(c.admin_username == NULL || c.admin_username[0] == '\0');
	conf_release(&c);
	buf_release(&err);
}

static void test_all_set(void **state)
{
	(void)state;
	struct conf c;
	struct buf err;
	env_set("LISTEN", "unix:/tmp/fo-unit.sock");
	env_set("WORKERS", "3");
	env_set("MAX_REQUESTS", "500");
	env_set("REDIS_URL", "redis://:pw@127.0.0.1:6380/1");
	env_set("ACCESS_TOKEN_MINUTES", "15");
	env_set("ADMIN_USERNAME", "root");
	env_set("ADMIN_PASSWORD", "adminpass123");
	env_set("ADMIN_EMAIL", "root@example.com");
	env_set("MIGRATIONS_DIR", "/opt/sql/users");
	env_set("LOG_LEVEL", "debug");
	env_set("BODY_MAX", "1024");
	env_set("LOGIN_MAX_FAILURES", "5");
	env_set("LOGIN_WINDOW_SECONDS", "60");
	env_set("DB_TIMEOUT_MS", "250");
	assert_int_equal(load(&c, &err), 0);
	assert_string_equal(buf_str(&err), "");
	assert_string_equal(c.listen, "unix:/tmp/fo-unit.sock");
	assert_int_equal(c.workers, 3);
	assert_int_equal(c.max_requests, 500);
	assert_string_equal(c.redis_url, "redis://:pw@127.0.0.1:6380/1");
	assert_int_equal(c.access_token_minutes, 15);
	assert_string_equal(c.admin_username, "root");
	assert_string_equal(c.admin_password, "adminpass123");
	assert_string_equal(c.admin_email, "root@example.com");
	assert_string_equal(c.migrations_dir, "/opt/sql/users");
	assert_int_equal(c.log_level, LOG_LVL_DEBUG);
	assert_int_equal(c.body_max, 1024);
	assert_int_equal(c.login_max_failures, 5);
	assert_int_equal(c.login_window_seconds, 60);
	assert_int_equal(c.db_timeout_ms, 250);
	conf_release(&c);
	buf_release(&err);
}

static void test_values_are_copies(void **state)
{
	(void)state;
	struct conf c;
	struct buf err;
	char url[] = DB_URL;
	env_set("DATABASE_URL", url);
	assert_int_equal(load(&c, &err), 0);
	url[0] = 'X';
	assert_string_equal(c.database_url, DB_URL);
	conf_release(&c);
	buf_release(&err);
}

/* conf_load must fail and mention every name in want. */
static void expect_fail(const char *const *want, int nwant)
{
	struct conf c;
	struct buf err;
	assert_int_equal(load(&c, &err), -1);
	const char *e = buf_str(&err);
	for (int i = 0; i < nwant; i++)
		if (strstr(e, want[i]) == NULL)
			fail_msg("errors do not mention %s: '%s'", want[i], e);
	int lines = 0;
	for (const char *p = e; *p; p++)
		lines += *p == '\n';
	if (e[0] != '\0' && e[strlen(e) - 1] != '\n')
		lines++;
	assert_true(lines >= nwant);
	/* a rejected key is never echoed back */
	assert_null(strstr(e, "short-secret-value"));
	conf_release(&c);
	buf_release(&err);
}

static void expect_fail1(const char *name)
{
	const char *want[] = {name};
	expect_fail(want, 1);
}

static void test_secret_key_problems(void **state)
{
	(void)state;
	env_set("SECRET_KEY", "short-secret-value");
	expect_fail1("SECRET_KEY");
	env_set("SECRET_KEY", "0123456789abcdef0123456789abcde"); /* 31 bytes */
	expect_fail1("SECRET_KEY");
	env_set("SECRET_KEY", "your-secret-key-here");
	expect_fail1("SECRET_KEY");
	env_set("SECRET_KEY", "");
	expect_fail1("SECRET_KEY");
	env_set("SECRET_KEY", NULL);
	expect_fail1("SECRET_KEY");
}

static void test_secret_key_32_ok(void **state)
{
	(void)state;
	struct conf c;
	struct buf err;
	env_set("SECRET_KEY", "0123456789abcdef0123456789abcdef");
	assert_int_equal(load(&c, &err), 0);
	conf_release(&c);
	buf_release(&err);
}

static void test_service_key_problems(void **state)
{
	(void)state;
	env_set("SERVICE_KEY", NULL);
	expect_fail1("SERVICE_KEY");
	env_set("SERVICE_KEY", "0123456789");
	expect_fail1("SERVICE_KEY");
	env_set("SERVICE_KEY", KEY_A); /* same as SECRET_KEY */
	expect_fail1("SERVICE_KEY");
}

static void test_database_url_missing(void **state)
{
	(void)state;
	env_set("DATABASE_URL", NULL);
	expect_fail1("DATABASE_URL");
	env_set("DATABASE_URL", "");
	expect_fail1("DATABASE_URL");
}

static void test_bad_workers(void **state)
{
	(void)state;
	const char *bad[] = {"0", "abc", "-1", "4x", " ", "99999999999999999999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		env_minimal(NULL);
		env_set("WORKERS", bad[i]);
		expect_fail1("WORKERS");
	}
}

static void test_bad_numbers(void **state)
{
	(void)state;
	const char *names[] = {"MAX_REQUESTS",       "ACCESS_TOKEN_MINUTES", "BODY_MAX",
	                       "LOGIN_MAX_FAILURES", "LOGIN_WINDOW_SECONDS", "DB_TIMEOUT_MS"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		env_minimal(NULL);
		env_set(names[i], "abc");
		expect_fail1(names[i]);
		env_minimal(NULL);
		env_set(names[i], "-5");
		expect_fail1(names[i]);
		env_minimal(NULL);
		env_set(names[i], "12abc");
		expect_fail1(names[i]);
	}
}

/* Zero makes no sense for these (0 might mean "unlimited" for others). */
static void test_zero_rejected(void **state)
{
	(void)state;
	const char *names[] = {"ACCESS_TOKEN_MINUTES", "BODY_MAX", "LOGIN_WINDOW_SECONDS"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		env_minimal(NULL);
		env_set(names[i], "0");
		expect_fail1(names[i]);
	}
}

static void test_bad_log_level(void **state)
{
	(void)state;
	env_set("LOG_LEVEL", "verbose");
	expect_fail1("LOG_LEVEL");
}

static void test_all_problems_at_once(void **state)
{
	(void)state;
	memset(env, 0, sizeof(env));
	env_set("SECRET_KEY", "short-secret-value");
	env_set("WORKERS", "abc");
	env_set("LOG_LEVEL", "loud");
	env_set("BODY_MAX", "0");
	/* DATABASE_URL and SERVICE_KEY missing */
	const char *want[] = {"SECRET_KEY", "WORKERS",     "LOG_LEVEL",
	                      "BODY_MAX",   "SERVICE_KEY", "DATABASE_URL"};
	expect_fail(want, 6);
}

static void test_same_keys_and_placeholder(void **state)
{
	(void)state;
	env_set("SECRET_KEY", "your-secret-key-here");
	env_set("SERVICE_KEY", "your-secret-key-here");
	env_set("DATABASE_URL", NULL);
	const char *want[] = {"SECRET_KEY", "SERVICE_KEY", "DATABASE_URL"};
	expect_fail(want, 3);
}

static void test_reload(void **state)
{
	(void)state;
	struct conf c;
	struct buf err;
	assert_int_equal(load(&c, &err), 0);
	conf_release(&c);
	buf_release(&err);
	/* loading again into the same struct works */
	assert_int_equal(load(&c, &err), 0);
	assert_string_equal(c.database_url, DB_URL);
	conf_release(&c);
	buf_release(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup(test_minimal_defaults, env_minimal),
	        cmocka_unit_test_setup(test_all_set, env_minimal),
	        cmocka_unit_test_setup(test_values_are_copies, env_minimal),
	        cmocka_unit_test_setup(test_secret_key_problems, env_minimal),
	        cmocka_unit_test_setup(test_secret_key_32_ok, env_minimal),
	        cmocka_unit_test_setup(test_service_key_problems, env_minimal),
	        cmocka_unit_test_setup(test_database_url_missing, env_minimal),
	        cmocka_unit_test_setup(test_bad_workers, env_minimal),
	        cmocka_unit_test_setup(test_bad_numbers, env_minimal),
	        cmocka_unit_test_setup(test_zero_rejected, env_minimal),
	        cmocka_unit_test_setup(test_bad_log_level, env_minimal),
	        cmocka_unit_test_setup(test_all_problems_at_once, env_minimal),
	        cmocka_unit_test_setup(test_same_keys_and_placeholder, env_minimal),
	        cmocka_unit_test_setup(test_reload, env_minimal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
