/* smtp.h - hand one message to the SMTP server with libcurl. */
#ifndef MAILER_SMTP_H
#define MAILER_SMTP_H

#include <stddef.h>

struct mailer_settings;

/* Send msg (len bytes of RFC 5322 text with CRLF line ends) from
 * c->smtp_from to rcpt (a bare address) through smtp://c->smtp_server:
 * c->smtp_port (smtps:// on port 465), upgrading with STARTTLS when the
 * server offers it and logging in when c->smtp_username is set, all
 * within timeout_ms. 0 once the server accepted the message; -2 when it
 * refused it for good (a 5xx reply), -1 for anything worth retrying; the
 * reason in err (size errlen). The connection is kept for the next
 * message. */
int smtp_send(const struct mailer_settings *c, const char *rcpt, const char *msg, size_t len,
              int timeout_ms, char *err, size_t errlen);

#endif
