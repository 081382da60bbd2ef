/* conf.h - configuration read from the environment once, at start-up.
 * No other module calls getenv(). */
#ifndef FO_CONF_H
#define FO_CONF_H

#include <stddef.h>

#include "buf.h"

struct conf {
	const char *service;      /* "users", "flights", ... (from the binary) */
	char *listen;             /* LISTEN: "unix:/path.sock" or "host:port" */
	int workers;              /* WORKERS, default 2 per core */
	int max_requests;         /* MAX_REQUESTS a child serves before it is replaced */
	char *database_url;       /* DATABASE_URL (required) */
	char *redis_url;          /* REDIS_URL, default redis://127.0.0.1:6379/0 */
	char *secret_key;         /* SECRET_KEY, >= 32 bytes, signs user tokens */
	char *service_key;        /* SERVICE_KEY, >= 32 bytes, internal calls */
	int access_token_minutes; /* ACCESS_TOKEN_MINUTES, default 30 */
	char *admin_username;     /* ADMIN_USERNAME (optional) */
	char *admin_password;     /* ADMIN_PASSWORD */
	char *admin_email;        /* ADMIN_EMAIL */
	char *migrations_dir;     /* MIGRATIONS_DIR, default sql/<service> */
	int log_level;            /* LOG_LEVEL: debug|info|warn|error */
	size_t body_max;          /* BODY_MAX bytes, default 65536 */
	int login_max_failures;   /* LOGIN_MAX_FAILURES per username per window */
	int login_window_seconds; /* LOGIN_WINDOW_SECONDS */
	int db_timeout_ms;        /* DB_TIMEOUT_MS: connect and statement timeout */
	/* where the other services answer (their own ports, not the gateway) */
	char *users_url;          /* USERS_URL, default http://127.0.0.1:8000 */
	char *flights_url;        /* FLIGHTS_URL, default http://127.0.0.1:8001 */
	char *bookings_url;       /* BOOKINGS_URL, default http://127.0.0.1:8002 */
	char *payments_url;       /* PAYMENTS_URL, default http://127.0.0.1:8003 */
	char *notifications_url;  /* NOTIFICATIONS_URL, default http://127.0.0.1:8004 */
	int service_timeout_ms;   /* SERVICE_TIMEOUT_MS for calls between services */
	int booking_hold_seconds; /* BOOKING_HOLD_SECONDS, default 600 */
	int max_active_holds;     /* MAX_ACTIVE_HOLDS pending bookings per user, default 9 */
	int gateway_latency_ms;   /* GATEWAY_LATENCY_MS of the payment simulator, default 100 */
	char *smtp_server;        /* SMTP_SERVER, default 127.0.0.1 */
	int smtp_port;            /* SMTP_PORT, default 25 */
	char *smtp_username;      /* SMTP_USERNAME (optional) */
	char *smtp_password;      /* SMTP_PASSWORD (optional) */
	char *smtp_from;          /* SMTP_FROM, default no-reply@flightops.local */
	int mail_max_attempts;    /* MAIL_MAX_ATTEMPTS before a notification fails, default 8 */
	int mailer_poll_ms;       /* MAILER_POLL_MS between polls when not woken, default 2000 */
};

typedef const char *(*conf_getenv_fn)(const char *name);

/* Fill c from get (getenv in production) with defaults for what is unset.
 * Returns 0, or -1 with every problem appended to errors, one per line.
 * Strings are allocated; release them with conf_release. */
int conf_load(struct conf *c, const char *service, conf_getenv_fn get, struct buf *errors);
void conf_release(struct conf *c);

#endif
