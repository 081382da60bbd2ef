/* main.c - the mailer pool: no routes of its own (the built-in /health
 * and /metrics only); the sending loop is its tick child. */
#include "mailer.h"
#include "prefork.h"
#include "route.h"
#include "worker.h"

static const struct route routes[] = {
        {NULL, NULL, NULL, 0},
};

static const struct service mailer_service = {
        .name = "mailer",
        .health_name = "mailer",
        .routes = routes,
        .tick = mailer_tick,
        .tick_ms = 100,
        .max_workers = 1, /* for /health and /metrics */
};

int main(int argc, char **argv)
{
	return prefork_main(&mailer_service, argc, argv);
}
