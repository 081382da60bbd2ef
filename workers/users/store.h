/* store.h - the users database: rows <-> struct user. Knows SQL, not HTTP. */
#ifndef USERS_STORE_H
#define USERS_STORE_H

#include <stdint.h>

#include "auth.h"
#include "store_status.h"

struct db;

struct user {
	int64_t id;
	char email[255];
	char username[33];
	char full_name[129];
	char role[8]; /* "user" | "admin" */
	int is_active;
	char created_at[32]; /* ISO 8601 UTC */
	char password_hash[AUTH_HASH_MAX];
};

/* Insert u (email, username, full_name, role, password_hash); fills out.
 * STORE_CONFLICT when the email or username is taken (case-insensitive):
 * *email_taken tells which. */
enum store_status store_user_create(struct db *db, const struct user *u, struct user *out,
                                    int *email_taken);
/* Before the costly password hash: STORE_OK when both u->email and
 * u->username are free (ignoring case), STORE_CONFLICT when one is taken
 * (*email_taken tells which, the address first). store_user_create still
 * answers STORE_CONFLICT on a race. */
enum store_status store_user_taken(struct db *db, const struct user *u, int *email_taken);
/* Look a user up by id, or by username ignoring case. */
enum store_status store_user_by_id(struct db *db, int64_t id, struct user *out);
enum store_status store_user_by_username(struct db *db, const char *username, struct user *out);

#endif
