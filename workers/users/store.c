/* store.c - SQL of the users service. Every statement is constant text
 * with $n parameters; rows are copied into struct user. Knows nothing of
 * HTTP, JSON or tokens. */
#include <libpq-fe.h>
#include <string.h>

#include "db.h"
#include "store.h"

/* The columns read_row reads, in its order. */
/* clang-format off */
#define USER_COLUMNS \
	"id, email, username, full_name, role, is_active::int, " \
	"to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), " \
	"password_hash"
/* clang-format on */

static void read_row(const PGresult *res, int row, void *out)
{
	struct user *u = out;
	struct db_row c = DB_ROW(res, row);

	memset(u, 0, sizeof(*u));
	u->id = db_next_int(&c);
	DB_NEXT_TEXT(&c, u->email);
	DB_NEXT_TEXT(&c, u->username);
	DB_NEXT_TEXT(&c, u->full_name);
	DB_NEXT_TEXT(&c, u->role);
	u->is_active = db_next_int(&c) != 0;
	DB_NEXT_TEXT(&c, u->created_at);
	DB_NEXT_TEXT(&c, u->password_hash);
}

/* After an insert that hit a unique rule: STORE_CONFLICT, with
 * *email_taken telling whether the e-mail address was the taken one. */
static enum store_status which_taken(struct db *db, const struct user *u, int *email_taken)
{
	PGresult *res = db_query(db, "SELECT 1 FROM users WHERE lower(email) = lower($1)",
	                         DB_TEXT(u->email));

	if (res == NULL)
		return STORE_ERROR;
	*email_taken = PQntuples(res) > 0;
	PQclear(res);
	return STORE_CONFLICT;
}

enum store_status store_user_create(struct db *db, const struct user *u, struct user *out,
                                    int *email_taken)
{
	/* clang-format off */
	PGresult *res = db_query(db,
		"INSERT INTO users (email, username, full_name, role, password_hash) "
		"VALUES ($1, $2, $3, $4, $5) "
		"ON CONFLICT DO NOTHING "
		"RETURNING " USER_COLUMNS,
		DB_TEXT(u->email), DB_TEXT(u->username), DB_TEXT(u->full_name), DB_TEXT(u->role),
		DB_TEXT(u->password_hash));
	/* clang-format on */
	enum store_status st = db_one(res, read_row, out);

	*email_taken = 0;
	/* no row: ON CONFLICT skipped it */
	return st == STORE_NOT_FOUND ? which_taken(db, u, email_taken) : st;
}

enum store_status store_user_taken(struct db *db, const struct user *u, int *email_taken)
{
	/* Both unique indexes (lower(email), lower(username)) answer this. */
	/* clang-format off */
	PGresult *res = db_query(db,
		"SELECT coalesce(bool_or(lower(email) = lower($1)), false)::int, count(*) "
		"FROM users WHERE lower(email) = lower($1) OR lower(username) = lower($2)",
		DB_TEXT(u->email), DB_TEXT(u->username));
	/* clang-format on */

	*email_taken = 0;
	if (res == NULL)
		return STORE_ERROR;
	*email_taken = strcmp(PQgetvalue(res, 0, 0), "1") == 0;
	enum store_status st = strcmp(PQgetvalue(res, 0, 1), "0") == 0 ? STORE_OK : STORE_CONFLICT;
	PQclear(res);
	return st;
}

enum store_status store_user_by_id(struct db *db, int64_t id, struct user *out)
{
	return db_one(db_query(db, "SELECT " USER_COLUMNS " FROM users WHERE id = $1", DB_INT(id)),
	              read_row, out);
}

enum store_status store_user_by_username(struct db *db, const char *username, struct user *out)
{
	return db_one(
	        db_query(db, "SELECT " USER_COLUMNS " FROM users WHERE lower(username) = lower($1)",
	                 DB_TEXT(username)),
	        read_row, out);
}
