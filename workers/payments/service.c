/* service.c - what the payments pool declares: its routes, settings,
 * peers and shared schemas, the payment processor and outbox relay as
 * its tick child, and their backlogs as gauges of /metrics. */
#include <stddef.h>

#include "payments.h"
#include "route.h"
#include "users/user_check.h"
#include "worker.h"

static const struct route routes[] = {
        {"POST", "/payments", payments_create, ROUTE_USER},
        {"GET", "/payments", payments_list, ROUTE_USER},
        {"GET", "/payments/:id", payments_get, ROUTE_USER},
        {"POST", "/payments/:id/refund", payments_refund, ROUTE_ADMIN},
        {"POST", "/internal/payments/refund", payments_internal_refund, ROUTE_SERVICE},
        {NULL, NULL, NULL, 0},
};

/* The card gateways this build has. Required, no default: a deployment
 * names the simulator on purpose, so none ends up "taking payments"
 * through it by omission. A real gateway adds its name here. */
static const char *const gateways[] = {"simulator", NULL};

static const struct conf_setting settings[] = {
        {.name = "PAYMENT_GATEWAY",
         .type = CONF_ENUM,
         .flags = CONF_REQUIRED,
         .values = gateways,
         .offset = offsetof(struct payments_settings, payment_gateway),
         .help = "the card gateway: simulator (approves and declines by test card number)"},
        {.name = "GATEWAY_LATENCY_MS",
         .type = CONF_INT,
         .def = "100",
         .min = 0,
         .max = 60000,
         .offset = offsetof(struct payments_settings, gateway_latency_ms),
         .help = "the card gateway simulator's delay"},
        {.name = NULL},
};

/* bookings: the booking paid for, and its confirmation; notifications:
 * declined payments. */
static const struct conf_peer peers[] = {
        {"bookings", "BOOKINGS_URL", "http://127.0.0.1:8002"},
        {"notifications", "NOTIFICATIONS_URL", "http://127.0.0.1:8004"},
        {"users", "USERS_URL", "http://127.0.0.1:8000"},
        {NULL, NULL, NULL},
};

static const char *const schemas[] = {"idempotency", "outbox", NULL};

static struct payments_settings payments_settings;

const struct service payments_service = {
        .name = "payments",
        .health_name = "payment-service",
        .routes = routes,
        .settings = settings,
        .settings_data = &payments_settings,
        .peers = peers,
        .schemas = schemas,
        .tick = payments_tick,
        .tick_ms = 200,
        .gauges = payments_gauges,
        .user_active = user_check_active,
};
