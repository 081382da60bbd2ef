/* notifications.h - handlers and input rules of the notifications
 * service. Sending is the mailer's job (workers/mailer). */
#ifndef NOTIFICATIONS_NOTIFICATIONS_H
#define NOTIFICATIONS_NOTIFICATIONS_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct req;
struct service;
struct worker;

#define NOTIFICATIONS_MESSAGE_MAX  2000
#define NOTIFICATIONS_EVENT_ID_MAX 128
/* "user:<id>:" + event_id + NUL */
#define NOTIFICATIONS_EVENT_KEY_MAX (NOTIFICATIONS_EVENT_ID_MAX + 32)

void notifications_create(struct req *r);
void notifications_list(struct req *r);
void notifications_get(struct req *r);
/* The gauges of /metrics (service.h): the mail queue (mail_queued,
 * mail_oldest_queued_seconds), measured here rather than by the mailer so
 * that they keep growing while the mailer is down. */
int notifications_gauges(struct worker *w, struct buf *out);

/* 1 when type is one of the six notification types, else 0. */
int notifications_type_valid(const char *type);
/* 1 when id is 1 to 128 printable ASCII characters (0x21-0x7e), else 0. */
int notifications_event_id_valid(const char *id);
/* 1 when message has no control characters other than tab, LF and CR
 * (and no DEL), else 0. Length is checked elsewhere. */
int notifications_message_valid(const char *message);
/* The stored idempotency key of event_id: "svc:<event_id>" for service
 * callers (uid 0), "user:<uid>:<event_id>" for users, so no user can
 * take an event id that a service or another user will send. Written to
 * out (size >= NOTIFICATIONS_EVENT_KEY_MAX); -1 if it does not fit. */
int notifications_event_key(int64_t uid, const char *event_id, char *out, size_t outlen);

/* What the pool declares (service.c): routes, settings, peers, hooks. */
extern const struct service notifications_service;

#endif
