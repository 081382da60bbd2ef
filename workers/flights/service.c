/* service.c - what the flights pool declares: its routes and peers. */
#include <stddef.h>

#include "flights.h"
#include "gateways.h"
#include "read_cache.h"
#include "route.h"
#include "users/user_check.h"

#include "worker.h"

/* /flights/search before /flights/:id, which would capture "search".
 * The public reads carry an ETag: browsers and apps revalidate them cheaply. */
static const struct route routes[] = {
        {"GET", "/flights", flights_list, ROUTE_ETAG},
        {"GET", "/flights/search", flights_search, ROUTE_ETAG},
        {"GET", "/flights/:id", flights_get, ROUTE_ETAG},
        {"POST", "/flights", flights_create, ROUTE_ADMIN},
        {"PUT", "/flights/:id", flights_update, ROUTE_ADMIN},
        {"DELETE", "/flights/:id", flights_delete, ROUTE_ADMIN},
        {"GET", "/internal/flights/:id", flights_internal_get, ROUTE_SERVICE},
        {NULL, NULL, NULL, 0},
};

static const struct conf_setting settings[] = {
        CACHE_PURGE_URL_SETTING(struct flights_settings, cache_purge_url),
        {.name = NULL},
};

static struct flights_settings flights_settings;

/* bookings: live seat counts when the Redis sets cannot tell. */
static const struct conf_peer peers[] = {
        {"bookings", "BOOKINGS_URL", "http://127.0.0.1:8002"},
        {"users", "USERS_URL", "http://127.0.0.1:8000"},
        {NULL, NULL, NULL},
};

const struct service flights_service = {
        .name = "flights",
        .health_name = "flight-service",
        .routes = routes,
        .settings = settings,
        .settings_data = &flights_settings,
        .peers = peers,
        .user_active = user_check_active,
};
