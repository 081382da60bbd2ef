/* users.h - handlers and input rules of the users service. */
#ifndef USERS_USERS_H
#define USERS_USERS_H

#include <stdint.h>

#include "buf.h"

struct req;
struct worker;
struct service;

/* The users service's own settings (main.c declares them). */
struct users_settings {
	int access_token_minutes; /* ACCESS_TOKEN_MINUTES: token lifetime */
	char *admin_username;     /* ADMIN_USERNAME (optional) */
	char *admin_password;     /* ADMIN_PASSWORD */
	char *admin_email;        /* ADMIN_EMAIL */
	int login_max_failures;   /* LOGIN_MAX_FAILURES per username per window */
	int login_window_seconds; /* LOGIN_WINDOW_SECONDS */
};

void users_register(struct req *r);
void users_token(struct req *r);
void users_me(struct req *r);
void users_get(struct req *r);

/* The user_active hook (service.h) of the users pool: its own table. */
int users_active(struct worker *w, int64_t uid, const char *request_id);

/* Create the admin from ADMIN_USERNAME/ADMIN_PASSWORD/ADMIN_EMAIL when it
 * does not exist yet; run once by the master. 0 or -1. */
int users_bootstrap(struct worker *w);
/* The rules across the admin settings: appends "NAME: problem" lines. */
void users_check_settings(const void *settings, struct buf *errors);

/* 1 when s looks like a deliverable address: one '@', a non-empty local
 * part of at most 64 bytes, a domain with a dot and no empty label, no
 * spaces or control characters. */
int users_email_valid(const char *s);
/* 1 when s is 3-32 bytes of [A-Za-z0-9_.-]. */
int users_username_valid(const char *s);

/* What the pool declares (service.c): routes, settings, peers, hooks. */
extern const struct service users_service;

#endif
