/* users.h - handlers and input rules of the users service. */
#ifndef USERS_USERS_H
#define USERS_USERS_H

struct req;
struct worker;

void users_register(struct req *r);
void users_token(struct req *r);
void users_me(struct req *r);
void users_get(struct req *r);

/* Create the admin from ADMIN_USERNAME/ADMIN_PASSWORD/ADMIN_EMAIL when it
 * does not exist yet; run once by the master. 0 or -1. */
int users_bootstrap(struct worker *w);

/* 1 when s looks like a deliverable address: one '@', a non-empty local
 * part of at most 64 bytes, a domain with a dot and no empty label, no
 * spaces or control characters. */
int users_email_valid(const char *s);
/* 1 when s is 3-32 bytes of [A-Za-z0-9_.-]. */
int users_username_valid(const char *s);

#endif
