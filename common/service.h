/* service.h - what a service declares next to its route table: its name,
 * routes, its own settings and peers, the shared schemas its database
 * uses, and its start and background hooks. common/ knows services only
 * through this struct; it never names one. */
#ifndef FO_SERVICE_H
#define FO_SERVICE_H

#include <stdint.h>

#include "buf.h"
#include "conf.h"
#include "route.h"

struct worker;

/* A second lane of request children: its own listener, number of children
 * and CPU priority, for routes that are slow by design (password hashing),
 * so that they never hold the children serving everything else, and lose
 * the CPU to them under load while using every core when alone. Its
 * settings are <NAME>_LISTEN, <NAME>_WORKERS and <NAME>_NICE (conf.h). Its
 * children serve only routes (plus /health and /metrics); the pool's other
 * children still serve every route, so a caller that does not know the
 * lane (the pool's own port) is answered too. nginx sends routes here. */
struct service_lane {
	const char *name; /* "login": LOGIN_* settings, process users:login, lane="login" */
	const char *const *routes; /* "POST /token": method and pattern of a route of
	                            * the service, NULL-terminated */
};

struct service {
	const char *name;        /* "users": metrics, logs, sql/<name> */
	const char *health_name; /* "user-service" */
	const struct route *routes;
	/* Its own settings, NULL-terminated by name (may be NULL), read
	 * into settings_data (a struct of the service's; workers see it as
	 * w->settings). */
	const struct conf_setting *settings;
	void *settings_data;
	/* Rules across several of its settings: append "NAME: problem\n"
	 * lines to errors. Optional. */
	void (*check)(const void *settings, struct buf *errors);
	/* The services it calls (outbox deliveries, internal reads),
	 * NULL-terminated by name (may be NULL). */
	const struct conf_peer *peers;
	/* Shared schemas (folders of sql/shared/) its database uses, applied
	 * before its own migrations; NULL-terminated (may be NULL). */
	const char *const *schemas;
	/* Once in the master before forking (migrations are already
	 * applied; w->db is connected): bootstrap. 0 or -1 to refuse to start. */
	int (*start)(struct worker *w);
	/* Optional background loop, run in one "tick" child every
	 * tick_ms; it is respawned like a request child. */
	void (*tick)(struct worker *w);
	int tick_ms;
	/* Optional cap on request children (a pool that serves only
	 * /health and /metrics needs one); 0 = WORKERS as configured. */
	int max_workers;
	/* Optional second lane of request children (above); NULL = none. */
	const struct service_lane *lane;
	/* Optional gauges read from its database when /metrics is scraped
	 * (in the request child that answers, so a stuck tick child shows
	 * as a growing backlog): append them with metrics_gauge. 0, or -1
	 * when one could not be read (what was read is still appended;
	 * /metrics then says metrics_gauges_ok 0). */
	int (*gauges)(struct worker *w, struct buf *out);
	/* Optional: is the user of a verified token (uid) still there and
	 * active? 1 yes; 0 no (the token is refused: 401); -1 cannot tell
	 * (let through, logged: an outage of the users service must not
	 * lock everyone out). serve.c keeps each answer per child for
	 * USER_CHECK_SECONDS, so a deactivated user is refused that soon. */
	int (*user_active)(struct worker *w, int64_t uid, const char *request_id);
};

/* How long a child keeps a user_active answer (serve.c). */
#define USER_CHECK_SECONDS 5

#endif
