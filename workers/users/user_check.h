/* user_check.h - the user_active hook (common/service.h) of the pools
 * that take user tokens but do not own the users: they ask the users
 * pool, GET /internal/users/{id} (the users service owns that answer's
 * format), through their "users" peer. */
#ifndef FO_USER_CHECK_H
#define FO_USER_CHECK_H

#include <stdint.h>

struct worker;

/* 1 active, 0 no such user or deactivated, -1 no answer (let through). */
int user_check_active(struct worker *w, int64_t uid, const char *request_id);

#endif
