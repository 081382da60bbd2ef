/* clock.h - the monotonic clock in milliseconds, for timeouts, back-offs
 * and cache lifetimes measured inside one process (never for times shown
 * or stored: those are the database's or CLOCK_REALTIME's). */
#ifndef FO_CLOCK_H
#define FO_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
