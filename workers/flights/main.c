/* main.c - the flights pool: its route table, then the prefork master. */
#include "flights.h"
#include "prefork.h"
#include "route.h"

#include "worker.h"

/* /flights/search before /flights/:id, which would capture "search". */
static const struct route routes[] = {
        {"GET", "/flights", flights_list, 0},
        {"GET", "/flights/search", flights_search, 0},
        {"GET", "/flights/:id", flights_get, 0},
        {"POST", "/flights", flights_create, ROUTE_ADMIN},
        {"PUT", "/flights/:id", flights_update, ROUTE_ADMIN},
        {"DELETE", "/flights/:id", flights_delete, ROUTE_ADMIN},
        {"GET", "/internal/flights/:id", flights_internal_get, ROUTE_SERVICE},
        {NULL, NULL, NULL, 0},
};

static const struct service flights_service = {
        .name = "flights",
        .health_name = "flight-service",
        .routes = routes,
};

int main(int argc, char **argv)
{
	return prefork_main(&flights_service, argc, argv);
}
