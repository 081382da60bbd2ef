/* prefork.h - the pool master. Reads the configuration, applies the
 * service's migrations, runs its start hook, opens the FastCGI socket,
 * forks conf->workers request children (and a tick child when the service
 * has one; and conf->lane_workers children at nice conf->lane_nice on the
 * lane's own socket when it declares a lane, service.h), respawns any that die (logging the route
 * it was serving), replaces a child after max_requests, re-forks every child on SIGHUP and stops
 * gracefully on SIGTERM/SIGINT: in-flight requests finish. */
#ifndef FO_PREFORK_H
#define FO_PREFORK_H

struct route;
struct service;

/* Run the pool; returns the process exit status. argv[1] may be
 * --settings (print what the pool reads, exit 0), --check (validate the
 * settings: 0, or 2 listing every problem) or --migrate (apply the
 * migrations and exit: 0, 1 when they fail, 2 for bad settings). */
int prefork_main(const struct service *svc, int argc, char **argv);

/* Parse a LISTEN value: "unix:/abs/path" sets *path; "host:port" (host
 * required, port 1..65535) sets *host and *port. 0 or -1. Pure. */
int prefork_parse_listen(const char *listen, char *path, unsigned long pathlen, char *host,
                         unsigned long hostlen, int *port);

/* The routes of svc that its lane serves (svc->lane->routes, each
 * "METHOD pattern"), as a new table ended by a NULL method (free it).
 * NULL when a name is no route of svc, or the lane names none. */
struct route *prefork_lane_routes(const struct service *svc);

#endif
