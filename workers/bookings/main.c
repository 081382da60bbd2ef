/* main.c - the bookings pool: its route table, then the prefork master
 * with the hold sweeper as its tick child. */
#include "bookings.h"
#include "prefork.h"
#include "route.h"
#include "worker.h"

static const struct route routes[] = {
        {"POST", "/bookings", bookings_create, ROUTE_USER},
        {"GET", "/bookings", bookings_list, ROUTE_USER},
        {"GET", "/bookings/:id", bookings_get, ROUTE_USER},
        {"GET", "/bookings/:id/status", bookings_status, ROUTE_USER},
        {"PUT", "/bookings/:id/cancel", bookings_cancel, ROUTE_USER},
        {"GET", "/flights/:id/seats", bookings_seat_map, 0},
        {"GET", "/internal/occupancy", bookings_internal_occupancy, ROUTE_SERVICE},
        {"GET", "/internal/bookings/:id", bookings_internal_get, ROUTE_SERVICE},
        {"POST", "/internal/bookings/:id/confirm", bookings_internal_confirm, ROUTE_SERVICE},
        {NULL, NULL, NULL, 0},
};

static const struct service bookings_service = {
        .name = "bookings",
        .health_name = "booking-service",
        .routes = routes,
        .tick = bookings_tick,
        .tick_ms = 1000,
};

int main(int argc, char **argv)
{
	return prefork_main(&bookings_service, argc, argv);
}
