/* template.h - the words of the e-mails of system notifications, owned by
 * the notifications service: a sender gives only the facts of its event
 * (event.h lists the keys of each type) and the message is rendered here,
 * so changing a text touches one file and no sender. */
#ifndef NOTIFICATIONS_TEMPLATE_H
#define NOTIFICATIONS_TEMPLATE_H

struct buf;
struct json_object;

/* Render the message of type from data (a JSON object of display texts;
 * a null member renders as "", as SQL format() did) and append it to out.
 * 0; or -1 when type has no template or data lacks a key it needs (or
 * one that is not text), with out reset to hold the reason, fit for a
 * 422 message. */
int template_render(const char *type, struct json_object *data, struct buf *out);
/* 1 when type has a template: its mail is only ever rendered from data. */
int template_exists(const char *type);

#endif
