/* service.c - what the bookings pool declares: its routes, settings,
 * peers and shared schemas, the hold sweeper as its tick child, and its
 * outbox backlog as gauges of /metrics. */
#include <stddef.h>

#include "bookings.h"
#include "flights/read_cache.h"
#include "gateways.h"
#include "live.h"
#include "outbox.h"
#include "route.h"
#include "users/user_check.h"
#include "worker.h"

static const struct route routes[] = {
        {"POST", "/bookings", bookings_create, ROUTE_USER},
        {"GET", "/bookings", bookings_list, ROUTE_USER},
        {"GET", "/bookings/:id", bookings_get, ROUTE_USER},
        {"GET", "/bookings/:id/status", bookings_status, ROUTE_USER},
        {"PUT", "/bookings/:id/cancel", bookings_cancel, ROUTE_USER},
        {"GET", "/flights/:id/seats", bookings_seat_map, ROUTE_ETAG},
        {"GET", "/internal/occupancy", bookings_internal_occupancy, ROUTE_SERVICE},
        {"GET", "/internal/bookings/:id", bookings_internal_get, ROUTE_SERVICE},
        {"POST", "/internal/bookings/:id/confirm", bookings_internal_confirm, ROUTE_SERVICE},
        {NULL, NULL, NULL, 0},
};

#define SETTING(member) offsetof(struct bookings_settings, member)

static const struct conf_setting settings[] = {
        {.name = "BOOKING_HOLD_SECONDS",
         .type = CONF_INT,
         .def = "600",
         .min = 1,
         .max = 86400,
         .offset = SETTING(hold_seconds),
         .help = "how long a pending booking holds its seat"},
        {.name = "MAX_ACTIVE_HOLDS",
         .type = CONF_INT,
         .def = "9",
         .min = 1,
         .max = 1000,
         .offset = SETTING(max_active_holds),
         .help = "seats one user may hold in pending bookings"},
        {.name = "LIVE_PUBLISH_URL",
         .type = CONF_TEXT,
         .def = "http://127.0.0.1:8090/flights",
         .check = gateways_check,
         .offset = SETTING(live_publish_url),
         .help = "where seat changes are published for the live seat map: each gateway's "
                 "Nchan publisher, separated by spaces (the flight id is appended)"},
        CACHE_PURGE_URL_SETTING(struct bookings_settings, cache_purge_url),
        {.name = NULL},
};

/* flights: the flight of a booking; notifications and payments: outbox. */
static const struct conf_peer peers[] = {
        {"flights", "FLIGHTS_URL", "http://127.0.0.1:8001"},
        {"notifications", "NOTIFICATIONS_URL", "http://127.0.0.1:8004"},
        {"payments", "PAYMENTS_URL", "http://127.0.0.1:8003"},
        {"users", "USERS_URL", "http://127.0.0.1:8000"},
        {NULL, NULL, NULL},
};

static const char *const schemas[] = {"idempotency", "outbox", NULL};

static struct bookings_settings bookings_settings;

const struct service bookings_service = {
        .name = "bookings",
        .health_name = "booking-service",
        .routes = routes,
        .settings = settings,
        .settings_data = &bookings_settings,
        .peers = peers,
        .schemas = schemas,
        .tick = bookings_tick,
        .tick_ms = 1000,
        .gauges = outbox_gauges,
        .user_active = user_check_active,
};
