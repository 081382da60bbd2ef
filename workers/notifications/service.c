/* service.c - what the notifications pool declares: its routes and the
 * mail queue as gauges of /metrics. Delivery is the mailer pool's tick
 * child. */
#include "notifications.h"
#include "route.h"
#include "worker.h"

static const struct route routes[] = {
        {"POST", "/notifications", notifications_create, ROUTE_USER | ROUTE_SERVICE},
        {"GET", "/notifications", notifications_list, ROUTE_USER | ROUTE_SERVICE},
        {"GET", "/notifications/:id", notifications_get, ROUTE_USER | ROUTE_SERVICE},
        {NULL, NULL, NULL, 0},
};

const struct service notifications_service = {
        .name = "notifications",
        .health_name = "notification-service",
        .routes = routes,
        .gauges = notifications_gauges,
};
