/* conf.h - settings, read from the environment once, at start-up. The
 * ones every pool has are struct conf; a service declares its own in a
 * table of struct conf_setting next to its route table (see service.h),
 * and its peers (the services it calls) as name -> URL setting. A pool
 * reads, checks and receives only those: a bad SMTP_FROM stops the
 * mailer, not the bookings pool. No other module calls getenv(). */
#ifndef FO_CONF_H
#define FO_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct service;

enum conf_type {
	CONF_INT,  /* int member; min..max */
	CONF_TEXT, /* char * member (allocated); min..max bytes when max > 0 */
	CONF_URL,  /* char * member: http:// or https:// */
	CONF_KEY,  /* char * member: a secret key, >= 32 bytes, not the seed's placeholder */
	CONF_ENUM, /* int member: the index of the value in values */
};

#define CONF_REQUIRED 1 /* no default: the pool refuses to start without it */
#define CONF_SECRET   2 /* kept out of logs and command lines; a secrets file holds it */

/* One setting of a service: the environment variable name, its type and
 * bounds, and where its value goes in the service's settings struct. */
struct conf_setting {
	const char *name;
	enum conf_type type;
	int flags;
	const char *def; /* default as text; NULL = none (the member stays NULL/0) */
	int64_t min, max;
	const char *const *values; /* CONF_ENUM: NULL-terminated */
	size_t offset;             /* offsetof(struct <svc>_settings, member) */
	/* Optional: NULL when value is fine, else what is wrong with it. */
	const char *(*check)(const char *value);
	const char *help; /* one line: what it means */
};

/* A service this one calls: its name (as outbox rows and calls name it),
 * the setting holding its URL and that setting's default. */
struct conf_peer {
	const char *name;
	const char *setting;
	const char *def;
};

struct conf {
	const char *service; /* "users", "flights", ... (from the binary) */
	char *listen;        /* LISTEN: "unix:/path.sock" or "host:port" */
	int workers;         /* WORKERS, default 2 per core */
	int max_requests;    /* MAX_REQUESTS a child serves before it is replaced */
	char *database_url;  /* DATABASE_URL (required) */
	char *redis_url;     /* REDIS_URL, default redis://127.0.0.1:6379/0 */
	char *secret_key;    /* SECRET_KEY: signs user tokens; NULL where no route takes one */
	char *service_key;   /* SERVICE_KEY: internal calls; NULL where none are made or taken */
	char *secret_key_accepted;  /* SECRET_KEY_ACCEPTED: also verified (rotation); NULL */
	char *service_key_accepted; /* SERVICE_KEY_ACCEPTED: also accepted (rotation); NULL */
	char *migrations_dir;       /* MIGRATIONS_DIR, default sql/<service> */
	int log_level;              /* LOG_LEVEL: debug|info|warn|error */
	int body_max;               /* BODY_MAX bytes, default 65536 */
	int db_timeout_ms;          /* DB_TIMEOUT_MS: connect and statement timeout */
	int db_pooler;              /* DATABASE_POOLER: 0 none, 1 transaction (PgBouncer) */
	int service_timeout_ms;     /* SERVICE_TIMEOUT_MS for calls to peers */
	char *cors_origins; /* CORS_ORIGINS: exact browser origins, comma-separated; NULL = none */
	char *socket_group; /* SOCKET_GROUP: group of a unix LISTEN socket (0660); NULL = ours */
	/* The service's lane (service.h), when it declares one: */
	char *lane_listen;             /* <LANE>_LISTEN, default conf_lane_listen(LISTEN) */
	int lane_workers;              /* <LANE>_WORKERS, default one per core */
	int lane_nice;                 /* <LANE>_NICE: the lane children's nice value, default 10 */
	const struct conf_peer *peers; /* the service's peers, NULL-terminated (may be NULL) */
	char **peer_urls;              /* peer_urls[i]: the URL of peers[i] */
};

typedef const char *(*conf_getenv_fn)(const char *name);
/* The process environment (getenv): what a pool passes to conf_load. */
const char *conf_getenv(const char *name);

/* Fill c with the shared settings and svc's own (into svc->settings_data)
 * and peers, from get (getenv in production), with defaults for what is
 * unset. SECRET_KEY is read only when a route takes a user token,
 * SERVICE_KEY only when a route takes the service credential or the
 * service has peers. Returns 0, or -1 with every problem appended to
 * errors, one "NAME: problem" per line. Release with conf_release. */
int conf_load(struct conf *c, const struct service *svc, conf_getenv_fn get, struct buf *errors);
/* Free what conf_load allocated in c and in svc->settings_data. */
void conf_release(struct conf *c, const struct service *svc);

/* Each setting svc reads, one line each: "NAME\tsecret|plain\trequired|
 * optional\tdefault\thelp" (default "-" when none). */
void conf_describe(const struct service *svc, struct buf *out);

/* The URL of peer name, or NULL when the service did not declare it. */
const char *conf_peer_url(const struct conf *c, const char *name);

/* The default <LANE>_LISTEN of a lane named lane beside listen:
 * "unix:/x/users.sock" -> "unix:/x/users-login.sock" (a path not ending
 * in .sock gets "-login" appended), "host:port" -> "host:<port + 100>".
 * 0, or -1 when listen is neither, the port would pass 65535 or out is
 * too small. Pure. */
int conf_lane_listen(const char *listen, const char *lane, char *out, size_t outlen);

/* Checks for CONF_TEXT settings: NULL when fine, else the problem. */
const char *conf_check_address(const char *value); /* a bare e-mail address */

#endif
