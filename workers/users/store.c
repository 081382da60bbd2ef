/* store.c - SQL of the users service. Every statement is constant text
 * with $n parameters; rows are copied into struct user. */
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "store.h"

#define USER_COLUMNS                                                                               \
	"id, email, username, full_name, role, is_active, "                                        \
	"to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "               \
	"password_hash"

static enum store_status one_user(PGresult *res, struct user *out)
{
	if (res == NULL)
		return STORE_ERROR;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return STORE_NOT_FOUND;
	}
	memset(out, 0, sizeof(*out));
	out->id = db_int(res, 0, 0);
	db_text(out->email, sizeof(out->email), res, 0, 1);
	db_text(out->username, sizeof(out->username), res, 0, 2);
	db_text(out->full_name, sizeof(out->full_name), res, 0, 3);
	db_text(out->role, sizeof(out->role), res, 0, 4);
	out->is_active = PQgetvalue(res, 0, 5)[0] == 't';
	db_text(out->created_at, sizeof(out->created_at), res, 0, 6);
	db_text(out->password_hash, sizeof(out->password_hash), res, 0, 7);
	PQclear(res);
	return STORE_OK;
}

static enum store_status which_taken(struct db *db, const struct user *u, int *email_taken)
{
	const char *p[] = {u->email};
	PGresult *res = db_exec(db, "SELECT 1 FROM users WHERE lower(email) = lower($1)", 1, p);

	if (res == NULL)
		return STORE_ERROR;
	*email_taken = PQntuples(res) > 0;
	PQclear(res);
	return STORE_CONFLICT;
}

enum store_status store_user_create(struct db *db, const struct user *u, struct user *out,
                                    int *email_taken)
{
	const char *p[] = {u->email, u->username, u->full_name, u->role, u->password_hash};
	PGresult *res =
	        db_exec(db,
	                "INSERT INTO users (email, username, full_name, role, password_hash) "
	                "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING "
	                "RETURNING " USER_COLUMNS,
	                5, p);

	*email_taken = 0;
	if (res && PQntuples(res) == 0) {
		PQclear(res);
		return which_taken(db, u, email_taken);
	}
	return one_user(res, out);
}

enum store_status store_user_by_id(struct db *db, int64_t id, struct user *out)
{
	char sid[24];
	const char *p[] = {sid};

	snprintf(sid, sizeof(sid), "%" PRId64, id);
	return one_user(db_exec(db, "SELECT " USER_COLUMNS " FROM users WHERE id = $1", 1, p), out);
}

enum store_status store_user_by_username(struct db *db, const char *username, struct user *out)
{
	const char *p[] = {username};

	return one_user(
	        db_exec(db, "SELECT " USER_COLUMNS " FROM users WHERE lower(username) = lower($1)",
	                1, p),
	        out);
}
