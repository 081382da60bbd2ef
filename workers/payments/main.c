/* main.c - the payments pool: its route table, then the prefork master
 * with the payment processor and outbox relay as its tick child. */
#include "payments.h"
#include "prefork.h"
#include "route.h"
#include "worker.h"

static const struct route routes[] = {
        {"POST", "/payments", payments_create, ROUTE_USER},
        {"GET", "/payments", payments_list, ROUTE_USER},
        {"GET", "/payments/:id", payments_get, ROUTE_USER},
        {"POST", "/payments/:id/refund", payments_refund, ROUTE_ADMIN},
        {"POST", "/internal/payments/refund", payments_internal_refund, ROUTE_SERVICE},
        {NULL, NULL, NULL, 0},
};

static const struct service payments_service = {
        .name = "payments",
        .health_name = "payment-service",
        .routes = routes,
        .tick = payments_tick,
        .tick_ms = 200,
};

int main(int argc, char **argv)
{
	return prefork_main(&payments_service, argc, argv);
}
