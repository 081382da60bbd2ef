/* mailer.h - the mailer's background loop and its retry rule. */
#ifndef MAILER_MAILER_H
#define MAILER_MAILER_H

struct worker;

/* The tick child: send what is due, then wait for a wake-up (NOTIFY
 * mail_queued) or conf->mailer_poll_ms, whichever comes first. Returns
 * early on a signal so the pool can stop. */
void mailer_tick(struct worker *w);

/* Seconds before the next try after a failed attempt number attempts
 * (1 for the first): 2^attempts, at most 300; 1 for attempts < 1. */
int mailer_backoff_seconds(int attempts);

#endif
