/* fake_store.c - store.h in memory for the handler tests: the same
 * answers as store.c (new rows queued; an event key already stored
 * returns its row; lists newest first, filtered, paged, with their total)
 * without PostgreSQL, plus failures on request. Test code only. */
#include <stdio.h>
#include <string.h>

#include "fake_store.h"
#include "fake_table.h"
#include "mem.h"

#define FAKE_MAX 64

enum op { OP_CREATE, OP_GET, OP_LIST, OP_BACKLOG, OP_COUNT };

/* The names tests give the store functions (fake_ops.h), NULL-terminated. */
static const char *const op_names[OP_COUNT + 1] = {"create", "get", "list", "backlog"};

static struct notification rows[FAKE_MAX];
static struct fake_table table = FAKE_TABLE(rows, struct notification);
static char keys[FAKE_MAX][NOTIFICATIONS_EVENT_KEY_MAX];
static int64_t next_id = FAKE_FIRST_ID;

void fake_store_reset(void)
{
	fake_table_reset(&table);
	memset(keys, 0, sizeof(keys));
	next_id = FAKE_FIRST_ID;
	fake_ops_reset(op_names);
}

const struct notification *fake_notification(int64_t id)
{
	return fake_table_find(&table, id);
}

const char *fake_event_key(int64_t id)
{
	int i = fake_table_index(&table, id);

	return i < 0 ? "" : keys[i];
}

void fake_notification_put(const struct notification *n, const char *event_key)
{
	int i = fake_table_put(&table, n);

	snprintf(keys[i], sizeof(keys[i]), "%s", event_key ? event_key : "");
}

enum store_status store_notification_create(struct db *db, const struct notification *n,
                                            const char *event_key, struct notification *out,
                                            int *created)
{
	enum store_status st = fake_op(OP_CREATE);
	struct notification m = *n;

	(void)db;
	*created = 0;
	if (st != STORE_OK)
		return st;
	for (int i = 0; event_key && i < table.n; i++)
		if (strcmp(keys[i], event_key) == 0) {
			*out = rows[i];
			return STORE_OK;
		}
	m.id = next_id++;
	snprintf(m.status, sizeof(m.status), "queued");
	snprintf(m.created_at, sizeof(m.created_at), FAKE_NOW);
	m.sent_at[0] = '\0';
	fake_notification_put(&m, event_key);
	*out = m;
	*created = 1;
	return STORE_OK;
}

enum store_status store_notification_get(struct db *db, int64_t id, int64_t owner,
                                         struct notification *out)
{
	const struct notification *n = fake_notification(id);
	enum store_status st = fake_op_on(OP_GET, n && (!owner || n->user_id == owner) ? n : NULL);

	(void)db;
	if (st == STORE_OK)
		*out = *n;
	return st;
}

static int listed(const struct notification *n, const struct notification_filter *f)
{
	return (f->user_id == 0 || n->user_id == f->user_id) &&
	       (f->type == NULL || strcmp(n->type, f->type) == 0) &&
	       (f->status == NULL || strcmp(n->status, f->status) == 0);
}

enum store_status store_notification_list(struct db *db, const struct notification_filter *f,
                                          struct notification **out, int *n, int64_t *total)
{
	enum store_status st = fake_op(OP_LIST);
	int skip = (int)f->offset;

	(void)db;
	*out = NULL;
	*n = 0;
	*total = 0;
	if (st != STORE_OK)
		return st;
	*out = xcalloc((size_t)table.n + 1, sizeof(**out));
	/* newest first: ids grow with the table, so walk it backwards */
	for (int i = table.n - 1; i >= 0; i--) {
		if (!listed(&rows[i], f))
			continue;
		(*total)++;
		if (skip > 0)
			skip--;
		else if (*n < f->limit)
			(*out)[(*n)++] = rows[i];
	}
	return STORE_OK;
}

enum store_status store_mail_backlog(struct db *db, int64_t *queued, double *oldest_seconds)
{
	enum store_status st = fake_op(OP_BACKLOG);

	(void)db;
	*queued = 0;
	*oldest_seconds = 0;
	if (st != STORE_OK)
		return st;
	for (int i = 0; i < table.n; i++)
		if (strcmp(rows[i].status, "queued") == 0)
			(*queued)++;
	/* the fake keeps no clock: any queued notification is this old */
	if (*queued)
		*oldest_seconds = FAKE_OLDEST_SECONDS;
	return STORE_OK;
}
