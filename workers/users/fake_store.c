/* fake_store.c - store.h in memory for the handler tests: the same
 * answers as store.c (e-mail addresses and usernames are unique ignoring
 * case, a taken address is reported before a taken username) without
 * PostgreSQL, plus failures on request. Test code only. */
#include <string.h>
#include <strings.h>

#include "fake_store.h"
#include "fake_table.h"

#define FAKE_MAX 32

enum op { OP_CREATE, OP_BY_ID, OP_BY_USERNAME, OP_TAKEN, OP_COUNT };

/* The names tests give the store functions (fake_ops.h), NULL-terminated. */
static const char *const op_names[OP_COUNT + 1] = {"create", "by_id", "by_username", "taken"};

static struct user rows[FAKE_MAX];
static struct fake_table table = FAKE_TABLE(rows, struct user);
static int64_t next_id = FAKE_FIRST_ID;

void fake_store_reset(void)
{
	fake_table_reset(&table);
	next_id = FAKE_FIRST_ID;
	fake_ops_reset(op_names);
}

const struct user *fake_user(int64_t id)
{
	return fake_table_find(&table, id);
}

void fake_user_put(const struct user *u)
{
	fake_table_put(&table, u);
}

static const struct user *by_name(const char *username)
{
	for (int i = 0; i < table.n; i++)
		if (strcasecmp(rows[i].username, username) == 0)
			return &rows[i];
	return NULL;
}

static int email_taken_by_anyone(const char *email)
{
	for (int i = 0; i < table.n; i++)
		if (strcasecmp(rows[i].email, email) == 0)
			return 1;
	return 0;
}

enum store_status store_user_create(struct db *db, const struct user *u, struct user *out,
                                    int *email_taken)
{
	enum store_status st = fake_op(OP_CREATE);
	struct user n = *u;

	(void)db;
	*email_taken = 0;
	if (st != STORE_OK)
		return st;
	if (email_taken_by_anyone(u->email) || by_name(u->username)) {
		*email_taken = email_taken_by_anyone(u->email);
		return STORE_CONFLICT;
	}
	n.id = next_id++;
	n.is_active = 1;
	memcpy(n.created_at, FAKE_CREATED_AT, sizeof(FAKE_CREATED_AT));
	fake_user_put(&n);
	*out = n;
	return STORE_OK;
}

enum store_status store_user_taken(struct db *db, const struct user *u, int *email_taken)
{
	enum store_status st = fake_op(OP_TAKEN);

	(void)db;
	*email_taken = 0;
	if (st != STORE_OK)
		return st;
	*email_taken = email_taken_by_anyone(u->email);
	return *email_taken || by_name(u->username) ? STORE_CONFLICT : STORE_OK;
}

enum store_status store_user_by_id(struct db *db, int64_t id, struct user *out)
{
	const struct user *u = fake_table_find(&table, id);
	enum store_status st = fake_op_on(OP_BY_ID, u);

	(void)db;
	if (st == STORE_OK)
		*out = *u;
	return st;
}

enum store_status store_user_by_username(struct db *db, const char *username, struct user *out)
{
	const struct user *u = by_name(username);
	enum store_status st = fake_op_on(OP_BY_USERNAME, u);

	(void)db;
	if (st == STORE_OK)
		*out = *u;
	return st;
}
