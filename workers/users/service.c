/* service.c - what the users pool declares: its routes, its settings
 * (tokens, login limits, the first admin) and the admin bootstrap. */
#include <stddef.h>
#include "route.h"

#include "users.h"
#include "worker.h"

static const struct route routes[] = {
        {"POST", "/register", users_register, 0},
        {"POST", "/token", users_token, 0},
        {"GET", "/users/me", users_me, ROUTE_USER},
        {"GET", "/users/:id", users_get, ROUTE_ADMIN | ROUTE_SERVICE},
        {"GET", "/internal/users/:id", users_get, ROUTE_SERVICE},
        {NULL, NULL, NULL, 0},
};

#define SETTING(member) offsetof(struct users_settings, member)

static const struct conf_setting settings[] = {
        {.name = "ACCESS_TOKEN_MINUTES",
         .type = CONF_INT,
         .def = "30",
         .min = 1,
         .max = 24 * 60,
         .offset = SETTING(access_token_minutes),
         .help = "lifetime of a user token"},
        {.name = "ADMIN_USERNAME",
         .type = CONF_TEXT,
         .offset = SETTING(admin_username),
         .help = "the admin created at start when missing"},
        {.name = "ADMIN_PASSWORD",
         .type = CONF_TEXT,
         .flags = CONF_SECRET,
         .offset = SETTING(admin_password),
         .help = "its password, 8 to 72 bytes"},
        {.name = "ADMIN_EMAIL",
         .type = CONF_TEXT,
         .def = "admin@example.com",
         .offset = SETTING(admin_email),
         .help = "its e-mail address"},
        {.name = "LOGIN_MAX_FAILURES",
         .type = CONF_INT,
         .def = "10",
         .min = 1,
         .max = 1000000,
         .offset = SETTING(login_max_failures),
         .help = "failed logins per username per window"},
        {.name = "LOGIN_WINDOW_SECONDS",
         .type = CONF_INT,
         .def = "300",
         .min = 1,
         .max = 86400,
         .offset = SETTING(login_window_seconds),
         .help = "the window of LOGIN_MAX_FAILURES"},
        {.name = NULL},
};

static struct users_settings users_settings;

/* The routes that hash a password (yescrypt, tens of ms of CPU each) run
 * in their own children at a lower CPU priority, on their own socket, so
 * that a login flood never holds or outruns the children serving
 * /users/me and the internal reads (nginx sends these two paths to the
 * lane: flightops_users_login). */
static const char *const login_routes[] = {"POST /register", "POST /token", NULL};
static const struct service_lane login_lane = {.name = "login", .routes = login_routes};

const struct service users_service = {
        .name = "users",
        .health_name = "user-service",
        .routes = routes,
        .settings = settings,
        .settings_data = &users_settings,
        .check = users_check_settings,
        .start = users_bootstrap,
        .user_active = users_active,
        .lane = &login_lane,
};
