/* worker.h - what one process of a pool has: its configuration, service,
 * database and Redis connections and the pool's shared metrics. The one
 * per-process global is `worker`, filled by prefork before a child runs. */
#ifndef FO_WORKER_H
#define FO_WORKER_H

#include "conf.h"
#include "route.h"

struct db;
struct kv;
struct metrics;
struct worker;

struct service {
	const char *name;        /* "users": metrics, logs, sql/<name> */
	const char *health_name; /* "user-service" */
	const struct route *routes;
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
};

struct worker {
	const struct conf *conf;
	const struct service *svc;
	struct db *db;
	struct kv *kv;
	struct metrics *metrics;
	char *busy_route; /* shared with the master: route being served */
};

extern struct worker worker;

#endif
