/* worker.h - what one process of a pool has: its configuration (shared
 * and its service's own settings), service, database and Redis
 * connections and the pool's shared metrics. The one per-process global
 * is `worker`, filled by prefork before a child runs. */
#ifndef FO_WORKER_H
#define FO_WORKER_H

#include "conf.h"
#include "route.h"
#include "service.h"

struct db;
struct kv;
struct metrics;

struct worker {
	const struct conf *conf;
	const struct service *svc;
	const void *settings; /* svc->settings_data: the service's own struct */
	struct db *db;
	struct kv *kv;
	struct metrics *metrics;
	char *busy_route; /* shared with the master: route being served */
};

extern struct worker worker;

#endif
