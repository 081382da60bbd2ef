/* test_conf.c - conf.h: the shared settings (defaults, parsing, every
 * invalid value listed at once), a service's own settings table (each
 * type, checks, its check() hook), its peers, which routes make a pool
 * read SECRET_KEY / SERVICE_KEY, and conf_describe. The environment is a
 * static table behind a fake getenv; the services are declared here. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "harness.h"
#include "log.h"
#include "route.h"
#include "service.h"

#define KEY_A  "0123456789abcdef0123456789abcdefA"
#define KEY_B  "fedcba9876543210fedcba9876543210B"
#define KEY_G  "gateway-key-gateway-key-gateway-key"
#define DB_URL "postgresql://flightops:pw@127.0.0.1:5433/flightops_users"

/* ---- the services under test ---- */

static void h_none(struct req *r)
{
	(void)r;
}

/* "app": user and service routes, one setting of each type, two peers
 * and a rule across settings (live mode needs a gateway key). */
struct app_settings {
	int token_minutes;
	char *smtp_from;
	char *gateway_url;
	char *gateway_key;
	int mode;
	char *admin_name;
};

static const char *const app_modes[] = {"live", "test", NULL};

#define APP(member) offsetof(struct app_settings, member)

/* One row a setting: name, type, flags, default, min, max, values,
 * member, check, help (the fields of struct conf_setting in order). */
static const struct conf_setting app_table[] = {
        {"TOKEN_MINUTES", CONF_INT, 0, "30", 1, 1440, NULL, APP(token_minutes), NULL,
         "token lifetime"},
        {"SMTP_FROM", CONF_TEXT, 0, "no-reply@unit.local", 0, 0, NULL, APP(smtp_from),
         conf_check_address, "sender"},
        {"GATEWAY_URL", CONF_URL, 0, "http://127.0.0.1:9000", 0, 0, NULL, APP(gateway_url), NULL,
         "the card gateway"},
        {"GATEWAY_KEY", CONF_KEY, CONF_SECRET, NULL, 0, 0, NULL, APP(gateway_key), NULL, "its key"},
        {"MODE", CONF_ENUM, 0, "test", 0, 0, app_modes, APP(mode), NULL, "live or test"},
        {"ADMIN_NAME", CONF_TEXT, 0, NULL, 1, 8, NULL, APP(admin_name), NULL, "first admin"},
        {.name = NULL},
};

static void app_check(const void *settings, struct buf *errors)
{
	const struct app_settings *s = settings;

	if (s->mode == 0 && s->gateway_key == NULL)
		buf_adds(errors, "GATEWAY_KEY: is required when MODE is live\n");
}

static const struct route app_routes[] = {
        {"GET", "/me", h_none, ROUTE_USER},
        {"POST", "/internal/x", h_none, ROUTE_SERVICE},
        {NULL, NULL, NULL, 0},
};

static const struct conf_peer app_peers[] = {
        {"flights", "FLIGHTS_URL", "http://127.0.0.1:8001"},
        {"users", "USERS_URL", "http://127.0.0.1:8000"},
        {NULL, NULL, NULL},
};

static struct app_settings app_data;

static const struct service app = {.name = "app",
                                   .routes = app_routes,
                                   .settings = app_table,
                                   .settings_data = &app_data,
                                   .check = app_check,
                                   .peers = app_peers};

/* "users": user routes only, nothing of its own: no SERVICE_KEY. */
static const struct route user_routes[] = {
        {"GET", "/me", h_none, ROUTE_USER},
        {"GET", "/admin", h_none, ROUTE_ADMIN},
        {NULL, NULL, NULL, 0},
};
static const struct service users = {.name = "users", .routes = user_routes};

/* "admin": one admin route: SECRET_KEY. */
static const struct route admin_routes[] = {
        {"DELETE", "/x/:id", h_none, ROUTE_ADMIN},
        {NULL, NULL, NULL, 0},
};
static const struct service admin_only = {.name = "admin", .routes = admin_routes};

/* "internal": taken only from services: SERVICE_KEY, no SECRET_KEY. */
static const struct route internal_routes[] = {
        {"GET", "/internal/y", h_none, ROUTE_SERVICE},
        {"GET", "/public", h_none, 0},
        {NULL, NULL, NULL, 0},
};
static const struct service internal = {.name = "internal", .routes = internal_routes};

/* "mailer": no routes but a peer: SERVICE_KEY only. */
static const struct route no_routes[] = {
        {NULL, NULL, NULL, 0},
};
static const struct conf_peer mailer_peers[] = {
        {"users", "USERS_URL", "http://127.0.0.1:8000"},
        {NULL, NULL, NULL},
};
static const struct service mailer = {.name = "mailer", .routes = no_routes, .peers = mailer_peers};

/* "bare": neither routes nor peers: no key at all. */
static const struct service bare = {.name = "bare", .routes = no_routes};

/* ---- a fake environment ---- */

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

/* The smallest valid environment of every service above. */
static int env_minimal(void **state)
{
	(void)state;
	memset(env, 0, sizeof(env));
	env_set("DATABASE_URL", DB_URL);
	env_set("SECRET_KEY", KEY_A);
	env_set("SERVICE_KEY", KEY_B);
	return 0;
}

static int setup_group(void **state)
{
	(void)state;
	log_init("unit", LOG_LVL_ERROR);
	return 0;
}

/* conf_load of svc into c; returns its result and leaves the errors in err. */
static int load_svc(struct conf *c, const struct service *svc, struct buf *err)
{
	memset(c, 0, sizeof(*c));
	buf_init(err);
	return conf_load(c, svc, fake_getenv, err);
}

static int load(struct conf *c, struct buf *err)
{
	return load_svc(c, &app, err);
}

static void release_svc(struct conf *c, const struct service *svc, struct buf *err)
{
	conf_release(c, svc);
	buf_release(err);
}

static void release(struct conf *c, struct buf *err)
{
	release_svc(c, &app, err);
}

/* conf_load of svc must fail and mention every name in want, one line
 * each at least, without echoing a rejected secret. */
static void expect_fail_svc(const struct service *svc, const char *const *want, int nwant)
{
	struct conf c;
	struct buf err;
	assert_int_equal(load_svc(&c, svc, &err), -1);
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
	release_svc(&c, svc, &err);
}

static void expect_fail(const char *const *want, int nwant)
{
	expect_fail_svc(&app, want, nwant);
}

static void expect_fail1(const char *name)
{
	const char *want[] = {name};
	expect_fail(want, 1);
}

/* ---- shared settings ---- */

static void test_minimal_defaults(void **state)
{
	(void)state;
	struct conf c;
	struct buf err;
	assert_int_equal(load(&c, &err), 0);
	assert_string_equal(buf_str(&err), "");
	assert_string_equal(c.service, "app");
	assert_string_equal(c.listen, "unix:/run/flightops/app.sock");
	assert_string_equal(c.database_url, DB_URL);
	assert_string_equal(c.secret_key, KEY_A);
	assert_string_equal(c.service_key, KEY_B);
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	long cores_conf = sysconf(_SC_NPROCESSORS_CONF);
	assert_true(c.workers == 2 * cores || c.workers == 2 * cores_conf);
	assert_int_equal(c.max_requests, 10000);
	assert_string_equal(c.redis_url, "redis://127.0.0.1:6379/0");
	assert_string_equal(c.migrations_dir, "sql/app");
	assert_int_equal(c.log_level, LOG_LVL_INFO);
	assert_int_equal(c.body_max, 65536);
	assert_int_equal(c.db_timeout_ms, 5000);
	assert_int_equal(c.service_timeout_ms, 2000);
	release(&c, &err);
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
	env_set("MIGRATIONS_DIR", "/opt/sql/app");
	env_set("LOG_LEVEL", "debug");
	env_set("BODY_MAX", "1024");
	env_set("DB_TIMEOUT_MS", "250");
	env_set("SERVICE_TIMEOUT_MS", "75");
	assert_int_equal(load(&c, &err), 0);
	assert_string_equal(buf_str(&err), "");
	assert_string_equal(c.listen, "unix:/tmp/fo-unit.sock");
	assert_int_equal(c.workers, 3);
	assert_int_equal(c.max_requests, 500);
	assert_string_equal(c.redis_url, "redis://:pw@127.0.0.1:6380/1");
	assert_string_equal(c.migrations_dir, "/opt/sql/app");
	assert_int_equal(c.log_level, LOG_LVL_DEBUG);
	assert_int_equal(c.body_max, 1024);
	assert_int_equal(c.db_timeout_ms, 250);
	assert_int_equal(c.service_timeout_ms, 75);
	release(&c, &err);
}

static void test_values_are_copies(void **state)
{
	(void)state;
	struct conf c;
	struct buf err;
	char url[] = DB_URL;
	char from[] = "ops@example.com";
	char flights[] = "http://flights:8001";
	env_set("DATABASE_URL", url);
	env_set("SMTP_FROM", from);
	env_set("FLIGHTS_URL", flights);
	assert_int_equal(load(&c, &err), 0);
	url[0] = 'X';
	from[0] = 'X';
	flights[0] = 'X';
	assert_string_equal(c.database_url, DB_URL);
	assert_string_equal(app_data.smtp_from, "ops@example.com");
	assert_string_equal(conf_peer_url(&c, "flights"), "http://flights:8001");
	release(&c, &err);
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
	release(&c, &err);
}

static void test_service_key_problems(void **state)
{
	(void)state;
	env_set("SERVICE_KEY", NULL);
	expect_fail1("SERVICE_KEY");
	env_set("SERVICE_KEY", "0123456789");
	expect_fail1("SERVICE_KEY");
	env_set("SERVICE_KEY", "your-secret-key-here");
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
	const char *bad[] = {"0", "abc", "-1", "4x", " ", "257", "99999999999999999999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		env_minimal(NULL);
		env_set("WORKERS", bad[i]);
		expect_fail1("WORKERS");
	}
}

/* Shared numbers and the service's own alike. */
static void test_bad_numbers(void **state)
{
	(void)state;
	const char *names[] = {"MAX_REQUESTS", "BODY_MAX", "DB_TIMEOUT_MS", "SERVICE_TIMEOUT_MS",
	                       "TOKEN_MINUTES"};
	const char *bad[] = {"abc", "-5", "12abc", "99999999999999999999"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		for (size_t j = 0; j < sizeof(bad) / sizeof(bad[0]); j++) {
			env_minimal(NULL);
			env_set(names[i], bad[j]);
			expect_fail1(names[i]);
		}
}

/* Zero makes no sense for these (0 might mean "unlimited" for others). */
static void test_zero_rejected(void **state)
{
	(void)state;
	const char *names[] = {"BODY_MAX", "TOKEN_MINUTES", "MAX_REQUESTS"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		env_minimal(NULL);
		env_set(names[i], "0");
		expect_fail1(names[i]);
	}
}

static void test_bad_log_level(void **state)
{
	(void)state;
	struct conf c;
	struct buf err;
	env_set("LOG_LEVEL", "WARN"); /* names are case-insensitive */
	assert_int_equal(load(&c, &err), 0);
	assert_int_equal(c.log_level, LOG_LVL_WARN);
	release(&c, &err);
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
	env_set("TOKEN_MINUTES", "x");
	env_set("SMTP_FROM", "bad");
	env_set("FLIGHTS_URL", "flights:8001");
	env_set("MODE", "live"); /* and no GATEWAY_KEY: the check hook */
	/* DATABASE_URL and SERVICE_KEY missing */
	const char *want[] = {"SECRET_KEY",  "WORKERS",      "LOG_LEVEL",     "BODY_MAX",
	                      "SERVICE_KEY", "DATABASE_URL", "TOKEN_MINUTES", "SMTP_FROM",
	                      "FLIGHTS_URL", "GATEWAY_KEY"};
	expect_fail(want, 10);
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
	env_set("ADMIN_NAME", "root");
	assert_int_equal(load(&c, &err), 0);
	assert_string_equal(app_data.admin_name, "root");
	release(&c, &err);
	assert_null(app_data.admin_name);
	/* loading again into the same structs works, and sees the change */
	env_set("ADMIN_NAME", NULL);
	env_set("TOKEN_MINUTES", "5");
	assert_int_equal(load(&c, &err), 0);
	assert_string_equal(c.database_url, DB_URL);
	assert_null(app_data.admin_name);
	assert_int_equal(app_data.token_minutes, 5);
	release(&c, &err);
}

/* ---- the service's own settings ---- */

static void test_own_defaults(void **state)
{
	(void)state;
	struct conf c;
	struct buf err;
	assert_int_equal(load(&c, &err), 0);
	assert_int_equal(app_data.token_minutes, 30);
	assert_string_equal(app_data.smtp_from, "no-reply@unit.local");
	assert_string_equal(app_data.gateway_url, "http://127.0.0.1:9000");
	assert_null(app_data.gateway_key);
	assert_int_equal(app_data.mode, 1);
	assert_null(app_data.admin_name);
	release(&c, &err);
}

static void test_own_set(void **state)
{
	(void)state;
	struct conf c;
	struct buf err;
	env_set("TOKEN_MINUTES", "1440");
	env_set("SMTP_FROM", "ops@example.com");
	env_set("GATEWAY_URL", "https://pay.example.com/v1");
	env_set("GATEWAY_KEY", KEY_G);
	env_set("MODE", "Live");
	env_set("ADMIN_NAME", "12345678");
	assert_int_equal(load(&c, &err), 0);
	assert_string_equal(buf_str(&err), "");
	assert_int_equal(app_data.token_minutes, 1440);
	assert_string_equal(app_data.smtp_from, "ops@example.com");
	assert_string_equal(app_data.gateway_url, "https://pay.example.com/v1");
	assert_string_equal(app_data.gateway_key, KEY_G);
	assert_int_equal(app_data.mode, 0);
	assert_string_equal(app_data.admin_name, "12345678");
	release(&c, &err);
}

static void test_own_bad_values(void **state)
{
	(void)state;
	const char *cases[][2] = {
	        {"TOKEN_MINUTES", "1441"},
	        {"SMTP_FROM", "bad"},
	        {"SMTP_FROM", "a@b.c\r\nBcc: x@y.z"},
	        {"SMTP_FROM", "Ops <ops@example.com>"},
	        {"GATEWAY_URL", "ftp://pay.example.com"},
	        {"GATEWAY_URL", "pay.example.com"},
	        {"GATEWAY_KEY", "short-secret-value"},
	        {"GATEWAY_KEY", "your-secret-key-here"},
	        {"MODE", "staging"},
	        {"ADMIN_NAME", "123456789"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		env_minimal(NULL);
		env_set(cases[i][0], cases[i][1]);
		expect_fail1(cases[i][0]);
	}
}

static void test_enum_message(void **state)
{
	(void)state;
	struct conf c;
	struct buf err;
	env_set("MODE", "staging");
	env_set("LOG_LEVEL", "loud");
	assert_int_equal(load(&c, &err), -1);
	assert_non_null(strstr(buf_str(&err), "MODE: must be live or test\n"));
	assert_non_null(strstr(buf_str(&err), "LOG_LEVEL: must be debug, info, warn or error\n"));
	release(&c, &err);
}

static void test_check_hook(void **state)
{
	(void)state;
	struct conf c;
	struct buf err;
	env_set("MODE", "live");
	assert_int_equal(load(&c, &err), -1);
	assert_string_equal(buf_str(&err), "GATEWAY_KEY: is required when MODE is live\n");
	release(&c, &err);
	env_set("GATEWAY_KEY", KEY_G);
	assert_int_equal(load(&c, &err), 0);
	release(&c, &err);
}

/* A setting is read only by the pools that declare it. */
static void test_other_service_setting_ignored(void **state)
{
	(void)state;
	struct conf c;
	struct buf err;
	env_set("SMTP_FROM", "bad");
	env_set("TOKEN_MINUTES", "x");
	env_set("FLIGHTS_URL", "flights:8001");
	assert_int_equal(load_svc(&c, &users, &err), 0);
	assert_string_equal(buf_str(&err), "");
	release_svc(&c, &users, &err);
	assert_int_equal(load_svc(&c, &mailer, &err), 0);
	release_svc(&c, &mailer, &err);
	const char *want[] = {"SMTP_FROM", "TOKEN_MINUTES", "FLIGHTS_URL"};
	expect_fail(want, 3);
}

/* ---- which keys a pool reads ---- */

/* Load svc with every key problem in the environment: the keys it
 * reads fail; the others stay NULL. */
static void expect_keys(const struct service *svc, int secret, int service)
{
	struct conf c;
	struct buf err;

	env_set("SECRET_KEY", KEY_A);
	env_set("SERVICE_KEY", KEY_B);
	assert_int_equal(load_svc(&c, svc, &err), 0);
	assert_true((c.secret_key != NULL) == secret);
	assert_true((c.service_key != NULL) == service);
	release_svc(&c, svc, &err);
	env_set("SECRET_KEY", NULL);
	env_set("SERVICE_KEY", "short");
	int rc = load_svc(&c, svc, &err);
	assert_int_equal(rc, secret || service ? -1 : 0);
	assert_true((strstr(buf_str(&err), "SECRET_KEY") != NULL) == secret);
	assert_true((strstr(buf_str(&err), "SERVICE_KEY") != NULL) == service);
	release_svc(&c, svc, &err);
}

static void test_keys_by_routes(void **state)
{
	(void)state;
	expect_keys(&app, 1, 1);
	expect_keys(&users, 1, 0);
	expect_keys(&admin_only, 1, 0);
	expect_keys(&internal, 0, 1);
	expect_keys(&mailer, 0, 1);
	expect_keys(&bare, 0, 0);
}

/* Without peers a pool does not read SERVICE_TIMEOUT_MS either. */
static void test_no_peers_no_timeout(void **state)
{
	(void)state;
	struct conf c;
	struct buf err;
	env_set("SERVICE_TIMEOUT_MS", "x");
	assert_int_equal(load_svc(&c, &internal, &err), 0);
	assert_null(c.peer_urls);
	assert_null(conf_peer_url(&c, "users"));
	release_svc(&c, &internal, &err);
	expect_fail_svc(&mailer, (const char *const[]){"SERVICE_TIMEOUT_MS"}, 1);
}

/* ---- peers ---- */

static void test_peer_url(void **state)
{
	(void)state;
	struct conf c;
	struct buf err;
	env_set("USERS_URL", "https://users.internal");
	assert_int_equal(load(&c, &err), 0);
	assert_ptr_equal(c.peers, app_peers);
	assert_string_equal(conf_peer_url(&c, "flights"), "http://127.0.0.1:8001");
	assert_string_equal(conf_peer_url(&c, "users"), "https://users.internal");
	assert_null(conf_peer_url(&c, "payments"));
	assert_null(conf_peer_url(&c, "USERS_URL"));
	release(&c, &err);
}

/* ---- conf_describe ---- */

/* The line of out that describes name, into line; NULL when none. */
static const char *describe_line(const struct buf *out, const char *name, char *line, size_t len)
{
	size_t n = strlen(name);

	for (const char *l = buf_str(out); *l; l = strchr(l, '\n') + 1) {
		if (strncmp(l, name, n) == 0 && l[n] == '\t') {
			snprintf(line, len, "%.*s", (int)strcspn(l, "\n"), l);
			return line;
		}
		if (strchr(l, '\n') == NULL)
			break;
	}
	return NULL;
}

static void expect_line(const struct buf *out, const char *name, const char *start)
{
	char line[256];

	if (describe_line(out, name, line, sizeof(line)) == NULL)
		fail_msg("%s not described: %s", name, buf_str(out));
	if (strncmp(line, start, strlen(start)) != 0)
		fail_msg("'%s' does not start with '%s'", line, start);
}

static void test_describe(void **state)
{
	(void)state;
	struct buf out;
	char line[256];

	buf_init(&out);
	conf_describe(&app, &out);
	expect_line(&out, "DATABASE_URL", "DATABASE_URL\tsecret\trequired\t-\t");
	expect_line(&out, "MAX_REQUESTS", "MAX_REQUESTS\tplain\toptional\t10000\t");
	expect_line(&out, "SECRET_KEY", "SECRET_KEY\tsecret\trequired\t-\t");
	expect_line(&out, "SERVICE_KEY", "SERVICE_KEY\tsecret\trequired\t-\t");
	expect_line(&out, "SERVICE_TIMEOUT_MS", "SERVICE_TIMEOUT_MS\tplain\toptional\t2000\t");
	expect_line(&out, "FLIGHTS_URL", "FLIGHTS_URL\tplain\toptional\thttp://127.0.0.1:8001\t");
	expect_line(&out, "USERS_URL", "USERS_URL\tplain\toptional\thttp://127.0.0.1:8000\t");
	expect_line(&out, "TOKEN_MINUTES", "TOKEN_MINUTES\tplain\toptional\t30\ttoken lifetime");
	expect_line(&out, "GATEWAY_KEY", "GATEWAY_KEY\tsecret\toptional\t-\tits key");
	expect_line(&out, "MODE", "MODE\tplain\toptional\ttest\tlive or test");
	/* every line has five fields */
	for (const char *l = buf_str(&out); *l; l = strchr(l, '\n') + 1) {
		int tabs = 0;
		for (const char *p = l; *p && *p != '\n'; p++)
			tabs += *p == '\t';
		assert_int_equal(tabs, 4);
		assert_non_null(strchr(l, '\n'));
	}
	buf_reset(&out);
	conf_describe(&mailer, &out);
	assert_null(describe_line(&out, "SECRET_KEY", line, sizeof(line)));
	assert_null(describe_line(&out, "SMTP_FROM", line, sizeof(line)));
	expect_line(&out, "SERVICE_KEY", "SERVICE_KEY\tsecret\trequired");
	expect_line(&out, "USERS_URL", "USERS_URL\tplain\toptional");
	buf_reset(&out);
	conf_describe(&users, &out);
	expect_line(&out, "SECRET_KEY", "SECRET_KEY\tsecret\trequired");
	assert_null(describe_line(&out, "SERVICE_KEY", line, sizeof(line)));
	assert_null(describe_line(&out, "SERVICE_TIMEOUT_MS", line, sizeof(line)));
	buf_release(&out);
}

/* conf_check_address finds nothing wrong with s. */
static int address_ok(const char *s)
{
	return conf_check_address(s) == NULL;
}

static void test_check_address(void **state)
{
	(void)state;
	HARNESS_RULE(address_ok, 1, "no-reply@example.com");
	HARNESS_RULE(address_ok, 0, "example.com", "a b@example.com", "<a@example.com>",
	             "a@example.com\n");
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
	        cmocka_unit_test_setup(test_own_defaults, env_minimal),
	        cmocka_unit_test_setup(test_own_set, env_minimal),
	        cmocka_unit_test_setup(test_own_bad_values, env_minimal),
	        cmocka_unit_test_setup(test_enum_message, env_minimal),
	        cmocka_unit_test_setup(test_check_hook, env_minimal),
	        cmocka_unit_test_setup(test_other_service_setting_ignored, env_minimal),
	        cmocka_unit_test_setup(test_keys_by_routes, env_minimal),
	        cmocka_unit_test_setup(test_no_peers_no_timeout, env_minimal),
	        cmocka_unit_test_setup(test_peer_url, env_minimal),
	        cmocka_unit_test_setup(test_describe, env_minimal),
	        cmocka_unit_test(test_check_address),
	};
	return cmocka_run_group_tests(tests, setup_group, NULL);
}
