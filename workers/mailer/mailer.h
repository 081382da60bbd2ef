/* mailer.h - the mailer's background loop and its retry rule. */
#ifndef MAILER_MAILER_H
#define MAILER_MAILER_H

struct worker;
struct service;

/* The mailer's own settings (main.c declares them). */
struct mailer_settings {
	char *smtp_server;     /* SMTP_SERVER */
	int smtp_port;         /* SMTP_PORT (465: implicit TLS) */
	char *smtp_username;   /* SMTP_USERNAME (optional) */
	char *smtp_password;   /* SMTP_PASSWORD (optional) */
	char *smtp_from;       /* SMTP_FROM: a bare address */
	int mail_max_attempts; /* MAIL_MAX_ATTEMPTS before a notification fails */
	int poll_ms;           /* MAILER_POLL_MS between polls when not woken */
	char *listen_url;      /* DATABASE_LISTEN_URL: LISTEN past a pooler (optional) */
};

/* The tick child: send what is due, then wait for a wake-up (NOTIFY
 * mail_queued) or MAILER_POLL_MS, whichever comes first. Returns
 * early on a signal so the pool can stop. */
void mailer_tick(struct worker *w);

/* Seconds before the next try after a failed attempt number attempts
 * (1 for the first): 2^attempts, at most 300; 1 for attempts < 1. */
int mailer_backoff_seconds(int attempts);

/* What the pool declares (service.c): routes, settings, peers, hooks. */
extern const struct service mailer_service;

#endif
