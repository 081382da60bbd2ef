/* service.c - what the notifications pool declares: its routes, the
 * mail queue as gauges of /metrics, and the users pool as its peer (is a
 * token's user still active). Delivery is the mailer pool's tick child. */
#include "notifications.h"
#include "route.h"
#include "users/user_check.h"
#include "worker.h"

static const struct route routes[] = {
        {"POST", "/notifications", notifications_create, ROUTE_USER | ROUTE_SERVICE},
        {"GET", "/notifications", notifications_list, ROUTE_USER | ROUTE_SERVICE},
        {"GET", "/notifications/:id", notifications_get, ROUTE_USER | ROUTE_SERVICE},
        {NULL, NULL, NULL, 0},
};

static const struct conf_peer peers[] = {
        {"users", "USERS_URL", "http://127.0.0.1:8000"},
        {NULL, NULL, NULL},
};

const struct service notifications_service = {
        .name = "notifications",
        .health_name = "notification-service",
        .routes = routes,
        .peers = peers,
        .gauges = notifications_gauges,
        .user_active = user_check_active,
};
