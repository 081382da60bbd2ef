/* fake_store.h - the users store (store.h) in memory, for the handler
 * tests: a table of users the test fills and inspects, and failures it
 * can ask for. Test code only; linked instead of store.c. */
#ifndef USERS_FAKE_STORE_H
#define USERS_FAKE_STORE_H

#include <stdint.h>

#include "fake_ops.h"
#include "store.h"

/* Ids store_user_create gives start here, above the seeded ones. */
#define FAKE_FIRST_ID 100
/* created_at of every user store_user_create adds. */
#define FAKE_CREATED_AT "2026-01-01T00:00:00Z"

/* Empty the table, forget failures and calls; the next created id
 * is FAKE_FIRST_ID. */
void fake_store_reset(void);
/* Put u in the table as it is (its id included, replacing a user with
 * that id). */
void fake_user_put(const struct user *u);
/* The stored user id, or NULL when there is none. */
const struct user *fake_user(int64_t id);
/* fake_store_fail, fake_store_fail_next and fake_store_calls (fake_ops.h)
 * name the store functions "create", "by_id" and "by_username". */

#endif
