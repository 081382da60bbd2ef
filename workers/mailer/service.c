/* service.c - what the mailer pool declares: no routes of its own (the
 * built-in /health and /metrics only), its SMTP settings, its peer, and
 * the sending loop as its tick child. */
#include <stddef.h>

#include "mailer.h"
#include "route.h"
#include "worker.h"

static const struct route routes[] = {
        {NULL, NULL, NULL, 0},
};

#define SETTING(member) offsetof(struct mailer_settings, member)

static const struct conf_setting settings[] = {
        {.name = "SMTP_SERVER",
         .type = CONF_TEXT,
         .def = "127.0.0.1",
         .offset = SETTING(smtp_server),
         .help = "the SMTP server mail is sent through"},
        {.name = "SMTP_PORT",
         .type = CONF_INT,
         .def = "25",
         .min = 1,
         .max = 65535,
         .offset = SETTING(smtp_port),
         .help = "its port (465: implicit TLS)"},
        {.name = "SMTP_USERNAME",
         .type = CONF_TEXT,
         .offset = SETTING(smtp_username),
         .help = "SMTP login, when the server wants one (then STARTTLS is required)"},
        {.name = "SMTP_PASSWORD",
         .type = CONF_TEXT,
         .flags = CONF_SECRET,
         .offset = SETTING(smtp_password),
         .help = "its password"},
        {.name = "SMTP_FROM",
         .type = CONF_TEXT,
         .def = "no-reply@flightops.local",
         .offset = SETTING(smtp_from),
         .check = conf_check_address,
         .help = "sender address"},
        {.name = "MAIL_MAX_ATTEMPTS",
         .type = CONF_INT,
         .def = "8",
         .min = 1,
         .max = 100,
         .offset = SETTING(mail_max_attempts),
         .help = "tries before a notification fails"},
        {.name = "MAILER_POLL_MS",
         .type = CONF_INT,
         .def = "2000",
         .min = 50,
         .max = 600000,
         .offset = SETTING(poll_ms),
         .help = "poll interval when no NOTIFY wakes the mailer"},
        {.name = "DATABASE_LISTEN_URL",
         .type = CONF_TEXT,
         .flags = CONF_SECRET,
         .offset = SETTING(listen_url),
         .help = "a direct connection for LISTEN mail_queued when DATABASE_URL is a transaction "
                 "pooler (default: DATABASE_URL, or none behind a pooler: then it polls)"},
        {.name = NULL},
};

/* users: the recipient's address and name. */
static const struct conf_peer peers[] = {
        {"users", "USERS_URL", "http://127.0.0.1:8000"},
        {NULL, NULL, NULL},
};

static struct mailer_settings mailer_settings;

const struct service mailer_service = {
        .name = "mailer",
        .health_name = "mailer",
        .routes = routes,
        .settings = settings,
        .settings_data = &mailer_settings,
        .peers = peers,
        .tick = mailer_tick,
        .tick_ms = 100,
        .max_workers = 1, /* for /health and /metrics */
};
