/* test_lane.c - a service's second lane of children (service.h): the
 * address derived from LISTEN (conf_lane_listen), its three settings as
 * conf_load reads them (defaults, values, every problem) and as
 * conf_describe lists them, and the route table its children serve
 * (prefork_lane_routes). Forking and the CPU priority are exercised by the
 * integration tests against a running users pool. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "log.h"
#include "prefork.h"
#include "route.h"
#include "service.h"

#define DB_URL "postgresql://flightops:pw@127.0.0.1:5433/flightops_app"

static void h_none(struct req *r)
{
	(void)r;
}

static const struct route routes[] = {
        {"POST", "/register", h_none, 0},
        {"POST", "/token", h_none, 0},
        {"GET", "/token", h_none, 0},
        {"GET", "/me", h_none, 0},
        {NULL, NULL, NULL, 0},
};

static const char *const login_routes[] = {"POST /token", "POST /register", NULL};
static const struct service_lane login = {.name = "login", .routes = login_routes};
static const struct service app = {.name = "app", .routes = routes, .lane = &login};
static const struct service plain = {.name = "plain", .routes = routes};

static const char *const wrong_routes[] = {"POST /token", "DELETE /token", NULL};
static const struct service_lane wrong = {.name = "login", .routes = wrong_routes};
static const struct service app_wrong = {.name = "app", .routes = routes, .lane = &wrong};

/* ---- a fake environment ---- */

#define ENV_MAX 8
static const char *env_names[ENV_MAX], *env_values[ENV_MAX];

static const char *fake_getenv(const char *name)
{
	for (int i = 0; i < ENV_MAX && env_names[i]; i++)
		if (strcmp(env_names[i], name) == 0)
			return env_values[i];
	return NULL;
}

static void env_add(const char *name, const char *value)
{
	int i = 0;

	while (env_names[i])
		i++;
	assert_true(i < ENV_MAX - 1);
	env_names[i] = name;
	env_values[i] = value;
}

static int env_minimal(void **state)
{
	(void)state;
	memset(env_names, 0, sizeof(env_names));
	env_add("DATABASE_URL", DB_URL);
	return 0;
}

static int setup_group(void **state)
{
	(void)state;
	log_init("unit", LOG_LVL_ERROR);
	return 0;
}

/* ---- conf_lane_listen ---- */

static void expect_lane(const char *listen, const char *want)
{
	char out[128];

	assert_int_equal(conf_lane_listen(listen, "login", out, sizeof(out)), 0);
	assert_string_equal(out, want);
}

static void expect_no_lane(const char *listen)
{
	char out[128];

	assert_int_equal(conf_lane_listen(listen, "login", out, sizeof(out)), -1);
}

static void test_listen_derived(void **state)
{
	(void)state;
	expect_lane("unix:/run/flightops/users.sock", "unix:/run/flightops/users-login.sock");
	expect_lane("unix:/tmp/pool", "unix:/tmp/pool-login");
	expect_lane("127.0.0.1:9000", "127.0.0.1:9100");
	expect_lane("0.0.0.0:1", "0.0.0.0:101");
	expect_lane("[::1]:9000", "[::1]:9100");
	expect_lane("users:65435", "users:65535");
}

static void test_listen_not_derived(void **state)
{
	char small[16];

	(void)state;
	expect_no_lane("users:65436"); /* past 65535 */
	expect_no_lane("users:0");
	expect_no_lane("users:");
	expect_no_lane(":9000");
	expect_no_lane("users");
	expect_no_lane("users:90x");
	assert_int_equal(
	        conf_lane_listen("unix:/run/flightops/users.sock", "login", small, sizeof(small)),
	        -1);
}

/* ---- the lane's settings ---- */

static int load(const struct service *svc, struct conf *c, struct buf *err)
{
	memset(c, 0, sizeof(*c));
	buf_init(err);
	return conf_load(c, svc, fake_getenv, err);
}

static void release(const struct service *svc, struct conf *c, struct buf *err)
{
	conf_release(c, svc);
	buf_release(err);
}

static void test_settings_defaults(void **state)
{
	struct conf c;
	struct buf err;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);

	(void)state;
	assert_int_equal(load(&app, &c, &err), 0);
	assert_string_equal(c.listen, "unix:/run/flightops/app.sock");
	assert_string_equal(c.lane_listen, "unix:/run/flightops/app-login.sock");
	assert_int_equal(c.lane_workers, cores > 0 ? cores : 2);
	assert_int_equal(c.lane_nice, 10);
	release(&app, &c, &err);
	assert_null(c.lane_listen);
}

static void test_settings_follow_listen(void **state)
{
	struct conf c;
	struct buf err;

	(void)state;
	env_add("LISTEN", "10.0.0.5:9000");
	assert_int_equal(load(&app, &c, &err), 0);
	assert_string_equal(c.lane_listen, "10.0.0.5:9100");
	release(&app, &c, &err);
}

static void test_settings_set(void **state)
{
	struct conf c;
	struct buf err;

	(void)state;
	env_add("LOGIN_LISTEN", "unix:/tmp/elsewhere.sock");
	env_add("LOGIN_WORKERS", "3");
	env_add("LOGIN_NICE", "0");
	assert_int_equal(load(&app, &c, &err), 0);
	assert_string_equal(c.lane_listen, "unix:/tmp/elsewhere.sock");
	assert_int_equal(c.lane_workers, 3);
	assert_int_equal(c.lane_nice, 0);
	release(&app, &c, &err);
}

static void test_settings_problems(void **state)
{
	struct conf c;
	struct buf err;

	(void)state;
	env_add("LISTEN", "127.0.0.1:9000");
	env_add("LOGIN_LISTEN", "127.0.0.1:9000");
	env_add("LOGIN_WORKERS", "0");
	env_add("LOGIN_NICE", "20");
	assert_int_equal(load(&app, &c, &err), -1);
	assert_non_null(strstr(buf_str(&err), "LOGIN_LISTEN: must differ from LISTEN\n"));
	assert_non_null(strstr(buf_str(&err), "LOGIN_WORKERS: must be a whole number"));
	assert_non_null(strstr(buf_str(&err), "LOGIN_NICE: must be a whole number from 0 to 19"));
	release(&app, &c, &err);
}

static void test_settings_no_default(void **state)
{
	struct conf c;
	struct buf err;

	(void)state;
	env_add("LISTEN", "users:65500");
	assert_int_equal(load(&app, &c, &err), -1);
	assert_non_null(strstr(buf_str(&err), "LOGIN_LISTEN: has no default"));
	release(&app, &c, &err);
	/* set, it needs none */
	env_add("LOGIN_LISTEN", "users:9100");
	assert_int_equal(load(&app, &c, &err), 0);
	assert_string_equal(c.lane_listen, "users:9100");
	release(&app, &c, &err);
}

static void test_no_lane_no_settings(void **state)
{
	struct conf c;
	struct buf err, out;

	(void)state;
	env_add("LOGIN_NICE", "not read");
	assert_int_equal(load(&plain, &c, &err), 0);
	assert_null(c.lane_listen);
	assert_int_equal(c.lane_workers, 0);
	release(&plain, &c, &err);
	buf_init(&out);
	conf_describe(&plain, &out);
	assert_null(strstr(buf_str(&out), "LOGIN_"));
	buf_release(&out);
}

static void test_describe(void **state)
{
	struct buf out;

	(void)state;
	buf_init(&out);
	conf_describe(&app, &out);
	assert_non_null(strstr(buf_str(&out), "\nLOGIN_LISTEN\tplain\toptional\t-\t"));
	assert_non_null(strstr(buf_str(&out), "\nLOGIN_WORKERS\tplain\toptional\t-\t"));
	assert_non_null(strstr(buf_str(&out), "\nLOGIN_NICE\tplain\toptional\t10\t"));
	buf_release(&out);
}

/* ---- prefork_lane_routes ---- */

static void test_routes(void **state)
{
	struct route *r;

	(void)state;
	r = prefork_lane_routes(&app);
	assert_non_null(r);
	/* the service's order, method and pattern both matched */
	assert_string_equal(r[0].method, "POST");
	assert_string_equal(r[0].pattern, "/register");
	assert_string_equal(r[1].method, "POST");
	assert_string_equal(r[1].pattern, "/token");
	assert_ptr_equal(r[1].fn, h_none);
	assert_null(r[2].method);
	free(r);
}

static void test_routes_unknown(void **state)
{
	(void)state;
	assert_null(prefork_lane_routes(&app_wrong));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_listen_derived),
	        cmocka_unit_test(test_listen_not_derived),
	        cmocka_unit_test_setup(test_settings_defaults, env_minimal),
	        cmocka_unit_test_setup(test_settings_follow_listen, env_minimal),
	        cmocka_unit_test_setup(test_settings_set, env_minimal),
	        cmocka_unit_test_setup(test_settings_problems, env_minimal),
	        cmocka_unit_test_setup(test_settings_no_default, env_minimal),
	        cmocka_unit_test_setup(test_no_lane_no_settings, env_minimal),
	        cmocka_unit_test(test_describe),
	        cmocka_unit_test(test_routes),
	        cmocka_unit_test(test_routes_unknown),
	};
	return cmocka_run_group_tests(tests, setup_group, NULL);
}
