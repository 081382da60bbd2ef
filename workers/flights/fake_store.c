/* fake_store.c - store.h in memory for the handler tests: the same
 * answers as store.c (a flight number flies once per UTC date, lists are
 * active flights by departure then id, paged, with their total) without
 * PostgreSQL, plus failures on request. Test code only. */
#include <stdlib.h>
#include <string.h>

#include "fake_store.h"
#include "fake_table.h"
#include "mem.h"

#define FAKE_MAX 64
#define DAY      86400

enum op { OP_CREATE, OP_BY_ID, OP_UPDATE, OP_SET_ACTIVE, OP_DELETE, OP_LIST, OP_COUNT };

/* The names tests give the store functions (fake_ops.h), NULL-terminated. */
static const char *const op_names[OP_COUNT + 1] = {"create",     "by_id",  "update",
                                                   "set_active", "delete", "list"};

static struct flight rows[FAKE_MAX];
static struct fake_table table = FAKE_TABLE(rows, struct flight);
static int64_t next_id = FAKE_FIRST_ID;

void fake_store_reset(void)
{
	fake_table_reset(&table);
	next_id = FAKE_FIRST_ID;
	fake_ops_reset(op_names);
}

const struct flight *fake_flight(int64_t id)
{
	return fake_table_find(&table, id);
}

void fake_flight_put(const struct flight *f)
{
	fake_table_put(&table, f);
}

/* 1 when another flight than f has its number on its UTC date. */
static int taken(const struct flight *f)
{
	for (int i = 0; i < table.n; i++)
		if (rows[i].id != f->id && strcmp(rows[i].flight_number, f->flight_number) == 0 &&
		    rows[i].departure_time / DAY == f->departure_time / DAY)
			return 1;
	return 0;
}

enum store_status store_flight_create(struct db *db, const struct flight *f, struct flight *out)
{
	enum store_status st = fake_op(OP_CREATE);
	struct flight n = *f;

	(void)db;
	if (st != STORE_OK)
		return st;
	n.id = next_id;
	if (taken(&n))
		return STORE_CONFLICT;
	next_id++;
	n.is_active = 1;
	n.created_at = FAKE_CREATED_AT;
	fake_flight_put(&n);
	*out = n;
	return STORE_OK;
}

enum store_status store_flight_by_id(struct db *db, int64_t id, struct flight *out)
{
	const struct flight *f = fake_table_find(&table, id);
	enum store_status st = fake_op_on(OP_BY_ID, f);

	(void)db;
	if (st == STORE_OK)
		*out = *f;
	return st;
}

enum store_status store_flight_update(struct db *db, const struct flight *f, struct flight *out)
{
	enum store_status st = fake_op(OP_UPDATE);
	struct flight *at = fake_table_find(&table, f->id);

	(void)db;
	if (st != STORE_OK)
		return st;
	if (taken(f))
		return STORE_CONFLICT;
	if (at == NULL)
		return STORE_NOT_FOUND;
	int64_t created = at->created_at;
	*at = *f;
	at->created_at = created;
	*out = *at;
	return STORE_OK;
}

enum store_status store_flight_set_active(struct db *db, int64_t id, int active, struct flight *out)
{
	struct flight *at = fake_table_find(&table, id);
	enum store_status st = fake_op_on(OP_SET_ACTIVE, at);

	(void)db;
	if (st != STORE_OK)
		return st;
	at->is_active = active != 0;
	*out = *at;
	return STORE_OK;
}

enum store_status store_flight_delete(struct db *db, int64_t id)
{
	struct flight *at = fake_table_find(&table, id);
	enum store_status st = fake_op_on(OP_DELETE, at);

	(void)db;
	if (st == STORE_OK)
		*at = rows[--table.n];
	return st;
}

/* 1 when f has the cabin named name (as store.c's cabins @> ...). */
static int has_cabin(const struct flight *f, const char *name)
{
	struct cabin c[FLIGHT_CABINS_MAX];
	int n = flight_cabins(f, c);

	for (int k = 0; k < n; k++)
		if (strcmp(flight_cabin_name(c[k].kind), name) == 0)
			return 1;
	return 0;
}

static int listed(const struct flight *f, const struct flight_filter *q)
{
	return f->is_active && (q->origin[0] == '\0' || strcmp(f->origin, q->origin) == 0) &&
	       (q->destination[0] == '\0' || strcmp(f->destination, q->destination) == 0) &&
	       (q->date < 0 ||
	        (f->departure_time >= q->date && f->departure_time < q->date + DAY)) &&
	       (q->cabin[0] == '\0' || has_cabin(f, q->cabin));
}

static int by_departure(const void *a, const void *b)
{
	const struct flight *x = a, *y = b;

	if (x->departure_time != y->departure_time)
		return x->departure_time < y->departure_time ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

enum store_status store_flight_list(struct db *db, const struct flight_filter *q,
                                    struct flight_list *out)
{
	enum store_status st = fake_op(OP_LIST);
	struct flight all[FAKE_MAX];
	int n = 0;

	(void)db;
	memset(out, 0, sizeof(*out));
	if (st != STORE_OK)
		return st;
	for (int i = 0; i < table.n; i++)
		if (listed(&rows[i], q))
			all[n++] = rows[i];
	qsort(all, (size_t)n, sizeof(all[0]), by_departure);
	out->total = n;
	out->rows = xcalloc((size_t)n + 1, sizeof(*out->rows));
	for (int64_t i = q->offset; i < n && out->count < q->limit; i++)
		out->rows[out->count++] = all[i];
	return STORE_OK;
}

void store_flight_list_release(struct flight_list *l)
{
	free(l->rows);
	memset(l, 0, sizeof(*l));
}
