/* conf.c - read and check the environment once, at start-up, reporting
 * every problem at once. Only this module calls getenv (through the
 * function it is given). */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "field.h"
#include "log.h"
#include "mem.h"

#define SEED_PLACEHOLDER "your-secret-key-here"
#define KEY_MIN          32

struct reader {
	conf_getenv_fn get;
	struct buf *errors;
	int bad;
};

static void problem(struct reader *rd, const char *name, const char *why)
{
	buf_printf(rd->errors, "%s: %s\n", name, why);
	rd->bad = 1;
}

static const char *raw(struct reader *rd, const char *name)
{
	const char *v = rd->get(name);
	return v && *v ? v : NULL;
}

static char *str(struct reader *rd, const char *name, const char *def, int required)
{
	const char *v = raw(rd, name);

	if (v == NULL && required)
		problem(rd, name, "is required");
	if (v == NULL)
		return def ? xstrdup(def) : NULL;
	return xstrdup(v);
}

static int num(struct reader *rd, const char *name, int def, int min, int max)
{
	const char *v = raw(rd, name);
	int64_t n;

	if (v == NULL)
		return def;
	if (field_parse_int64(v, min, max, &n) < 0) {
		char why[96];
		snprintf(why, sizeof(why), "must be a whole number from %d to %d", min, max);
		problem(rd, name, why);
		return def;
	}
	return (int)n;
}

static void check_key(struct reader *rd, const char *name, const char *key)
{
	if (key == NULL)
		return;
	if (strlen(key) < KEY_MIN)
		problem(rd, name, "must be at least 32 bytes");
	if (strcmp(key, SEED_PLACEHOLDER) == 0)
		problem(rd, name, "is the published placeholder; generate a secret");
}

static int default_workers(void)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	return cores > 0 ? (int)(cores * 2) : 4;
}

static void read_admin(struct reader *rd, struct conf *c)
{
	c->admin_username = str(rd, "ADMIN_USERNAME", NULL, 0);
	c->admin_password = str(rd, "ADMIN_PASSWORD", NULL, 0);
	c->admin_email = str(rd, "ADMIN_EMAIL", "admin@example.com", 0);
	if (c->admin_username && c->admin_password == NULL)
		problem(rd, "ADMIN_PASSWORD", "is required when ADMIN_USERNAME is set");
	if (c->admin_password && (strlen(c->admin_password) < 8 || strlen(c->admin_password) > 72))
		problem(rd, "ADMIN_PASSWORD", "must be 8 to 72 bytes");
}

static char *url(struct reader *rd, const char *name, const char *def)
{
	char *v = str(rd, name, def, 0);

	if (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0)
		problem(rd, name, "must start with http:// or https://");
	return v;
}

static void read_services(struct reader *rd, struct conf *c)
{
	c->users_url = url(rd, "USERS_URL", "http://127.0.0.1:8000");
	c->flights_url = url(rd, "FLIGHTS_URL", "http://127.0.0.1:8001");
	c->bookings_url = url(rd, "BOOKINGS_URL", "http://127.0.0.1:8002");
	c->payments_url = url(rd, "PAYMENTS_URL", "http://127.0.0.1:8003");
	c->notifications_url = url(rd, "NOTIFICATIONS_URL", "http://127.0.0.1:8004");
	c->service_timeout_ms = num(rd, "SERVICE_TIMEOUT_MS", 2000, 50, 60000);
	c->booking_hold_seconds = num(rd, "BOOKING_HOLD_SECONDS", 600, 1, 86400);
	c->max_active_holds = num(rd, "MAX_ACTIVE_HOLDS", 9, 1, 1000);
	c->gateway_latency_ms = num(rd, "GATEWAY_LATENCY_MS", 100, 0, 60000);
}

static void read_mail(struct reader *rd, struct conf *c)
{
	c->smtp_server = str(rd, "SMTP_SERVER", "127.0.0.1", 0);
	c->smtp_port = num(rd, "SMTP_PORT", 25, 1, 65535);
	c->smtp_username = str(rd, "SMTP_USERNAME", NULL, 0);
	c->smtp_password = str(rd, "SMTP_PASSWORD", NULL, 0);
	c->smtp_from = str(rd, "SMTP_FROM", "no-reply@flightops.local", 0);
	if (strchr(c->smtp_from, '@') == NULL || strpbrk(c->smtp_from, "\r\n<> "))
		problem(rd, "SMTP_FROM", "must be a bare address like no-reply@example.com");
	c->mail_max_attempts = num(rd, "MAIL_MAX_ATTEMPTS", 8, 1, 100);
	c->mailer_poll_ms = num(rd, "MAILER_POLL_MS", 2000, 50, 600000);
}

int conf_load(struct conf *c, const char *service, conf_getenv_fn get, struct buf *errors)
{
	struct reader rd = {get, errors, 0};
	char path[256];

	memset(c, 0, sizeof(*c));
	c->service = service;
	snprintf(path, sizeof(path), "unix:/run/flightops/%s.sock", service);
	c->listen = str(&rd, "LISTEN", path, 0);
	c->workers = num(&rd, "WORKERS", default_workers(), 1, 256);
	c->max_requests = num(&rd, "MAX_REQUESTS", 10000, 1, INT_MAX);
	c->database_url = str(&rd, "DATABASE_URL", NULL, 1);
	c->redis_url = str(&rd, "REDIS_URL", "redis://127.0.0.1:6379/0", 0);
	c->secret_key = str(&rd, "SECRET_KEY", NULL, 1);
	c->service_key = str(&rd, "SERVICE_KEY", NULL, 1);
	check_key(&rd, "SECRET_KEY", c->secret_key);
	check_key(&rd, "SERVICE_KEY", c->service_key);
	if (c->secret_key && c->service_key && strcmp(c->secret_key, c->service_key) == 0)
		problem(&rd, "SERVICE_KEY", "must differ from SECRET_KEY");
	c->access_token_minutes = num(&rd, "ACCESS_TOKEN_MINUTES", 30, 1, 24 * 60);
	read_admin(&rd, c);
	snprintf(path, sizeof(path), "sql/%s", service);
	c->migrations_dir = str(&rd, "MIGRATIONS_DIR", path, 0);
	const char *lvl = raw(&rd, "LOG_LEVEL");
	c->log_level = lvl ? log_level_parse(lvl) : LOG_LVL_INFO;
	if (c->log_level < 0) {
		problem(&rd, "LOG_LEVEL", "must be debug, info, warn or error");
		c->log_level = LOG_LVL_INFO;
	}
	c->body_max = (size_t)num(&rd, "BODY_MAX", 65536, 1024, 16 << 20);
	c->login_max_failures = num(&rd, "LOGIN_MAX_FAILURES", 10, 1, 1000000);
	c->login_window_seconds = num(&rd, "LOGIN_WINDOW_SECONDS", 300, 1, 86400);
	c->db_timeout_ms = num(&rd, "DB_TIMEOUT_MS", 5000, 100, 600000);
	read_services(&rd, c);
	read_mail(&rd, c);
	return rd.bad ? -1 : 0;
}

void conf_release(struct conf *c)
{
	free(c->listen);
	free(c->database_url);
	free(c->redis_url);
	free(c->secret_key);
	free(c->service_key);
	free(c->admin_username);
	free(c->admin_password);
	free(c->admin_email);
	free(c->migrations_dir);
	free(c->users_url);
	free(c->flights_url);
	free(c->bookings_url);
	free(c->payments_url);
	free(c->notifications_url);
	free(c->smtp_server);
	free(c->smtp_username);
	free(c->smtp_password);
	free(c->smtp_from);
	memset(c, 0, sizeof(*c));
}
