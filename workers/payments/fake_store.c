/* fake_store.c - store.h in memory for the handler tests: the same
 * answers as store.c (one pending or succeeded payment per booking, lists
 * newest first, paged, with their total; settling and refunding only from
 * the right status; one ledger charge per key) without PostgreSQL, plus
 * failures on request. Events (outbox rows) are not kept. Test code only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_store.h"
#include "fake_table.h"
#include "mem.h"

#define FAKE_MAX 64

enum op {
	OP_CREATE,
	OP_GET,
	OP_LIST,
	OP_CLAIM,
	OP_SETTLE,
	OP_REFUNDED,
	OP_SUCCEEDED_FOR,
	OP_GATEWAY_CHARGE,
	OP_GATEWAY_REFUND,
	OP_BACKLOG,
	OP_COUNT
};

/* The names tests give the store functions (fake_ops.h), NULL-terminated. */
static const char *const op_names[OP_COUNT + 1] = {
        "create",   "get",           "list",           "claim",          "settle",
        "refunded", "succeeded_for", "gateway_charge", "gateway_refund", "backlog"};

struct charge {
	char key[40];
	int approved, refunded;
};

static struct payment rows[FAKE_MAX];
static struct fake_table table = FAKE_TABLE(rows, struct payment);
static struct charge ledger[FAKE_MAX];
static int ncharges;
static int64_t next_id = FAKE_FIRST_ID;

void fake_store_reset(void)
{
	fake_table_reset(&table);
	memset(ledger, 0, sizeof(ledger));
	ncharges = 0;
	next_id = FAKE_FIRST_ID;
	fake_ops_reset(op_names);
}

const struct payment *fake_payment(int64_t id)
{
	return fake_table_find(&table, id);
}

void fake_payment_put(const struct payment *p)
{
	fake_table_put(&table, p);
}

static int live(const struct payment *p)
{
	return strcmp(p->status, "pending") == 0 || strcmp(p->status, "succeeded") == 0;
}

enum store_status store_payment_create(struct db *db, const struct payment *p, struct payment *out)
{
	enum store_status st = fake_op(OP_CREATE);
	struct payment n = *p;

	(void)db;
	if (st != STORE_OK)
		return st;
	for (int i = 0; i < table.n; i++)
		if (rows[i].booking_id == p->booking_id && live(&rows[i]))
			return STORE_CONFLICT;
	n.id = next_id++;
	snprintf(n.status, sizeof(n.status), "pending");
	snprintf(n.created_at, sizeof(n.created_at), FAKE_NOW);
	fake_payment_put(&n);
	*out = n;
	return STORE_OK;
}

enum store_status store_payment_get(struct db *db, int64_t id, int64_t owner, struct payment *out)
{
	const struct payment *p = fake_table_find(&table, id);
	enum store_status st = fake_op_on(OP_GET, p && (!owner || p->user_id == owner) ? p : NULL);

	(void)db;
	if (st == STORE_OK)
		*out = *p;
	return st;
}

static int newest_first(const void *a, const void *b)
{
	const struct payment *x = a, *y = b;

	return (x->id < y->id) - (x->id > y->id);
}

enum store_status store_payment_list(struct db *db, int64_t owner, int64_t booking_id,
                                     int64_t limit, int64_t offset, struct payment **out, int *n,
                                     int64_t *total)
{
	enum store_status st = fake_op(OP_LIST);
	struct payment all[FAKE_MAX];
	int m = 0;

	(void)db;
	*out = NULL;
	*n = 0;
	*total = 0;
	if (st != STORE_OK)
		return st;
	for (int i = 0; i < table.n; i++)
		if ((owner == 0 || rows[i].user_id == owner) &&
		    (booking_id == 0 || rows[i].booking_id == booking_id))
			all[m++] = rows[i];
	qsort(all, (size_t)m, sizeof(all[0]), newest_first);
	*out = xcalloc((size_t)m + 1, sizeof(**out));
	for (int64_t i = offset; i < m && i < offset + limit; i++)
		(*out)[(*n)++] = all[i];
	*total = m;
	return STORE_OK;
}

enum store_status store_payment_claim(struct db *db, int limit, struct payment **out, int *n)
{
	enum store_status st = fake_op(OP_CLAIM);

	(void)db;
	*out = NULL;
	*n = 0;
	if (st != STORE_OK)
		return st;
	*out = xcalloc((size_t)table.n + 1, sizeof(**out));
	for (int i = 0; i < table.n && *n < limit; i++)
		if (strcmp(rows[i].status, "pending") == 0)
			(*out)[(*n)++] = rows[i];
	return STORE_OK;
}

enum store_status store_payment_backlog(struct db *db, int64_t *pending, double *oldest_seconds)
{
	enum store_status st = fake_op(OP_BACKLOG);

	(void)db;
	*pending = 0;
	*oldest_seconds = 0;
	if (st != STORE_OK)
		return st;
	for (int i = 0; i < table.n; i++)
		if (strcmp(rows[i].status, "pending") == 0)
			(*pending)++;
	/* the fake keeps no clock: any pending payment is this old */
	if (*pending)
		*oldest_seconds = FAKE_OLDEST_SECONDS;
	return STORE_OK;
}

/* Move payment id from status from to status to: STORE_OK with out, or
 * STORE_NOT_FOUND when it is not in from. */
static enum store_status move(int64_t id, const char *from, const char *to, struct payment *out)
{
	struct payment *p = fake_table_find(&table, id);

	if (p == NULL || strcmp(p->status, from) != 0)
		return STORE_NOT_FOUND;
	snprintf(p->status, sizeof(p->status), "%s", to);
	*out = *p;
	return STORE_OK;
}

enum store_status store_payment_settle(struct db *db, const struct payment *p, int approved,
                                       struct payment *out)
{
	enum store_status st = fake_op(OP_SETTLE);

	(void)db;
	if (st != STORE_OK)
		return st;
	st = move(p->id, "pending", approved ? "succeeded" : "failed", out);
	if (st == STORE_OK) {
		struct payment *at = fake_table_find(&table, p->id);
		snprintf(at->processed_at, sizeof(at->processed_at), FAKE_NOW);
		if (!approved)
			snprintf(at->failure_reason, sizeof(at->failure_reason), "card declined");
		*out = *at;
	}
	return st;
}

enum store_status store_payment_refunded(struct db *db, int64_t id, struct payment *out)
{
	enum store_status st = fake_op(OP_REFUNDED);

	(void)db;
	if (st != STORE_OK)
		return st;
	st = move(id, "succeeded", "refunded", out);
	if (st == STORE_OK) {
		struct payment *at = fake_table_find(&table, id);
		snprintf(at->refunded_at, sizeof(at->refunded_at), FAKE_NOW);
		*out = *at;
	}
	return st;
}

enum store_status store_payment_succeeded_for(struct db *db, int64_t booking_id,
                                              struct payment *out)
{
	enum store_status st = fake_op(OP_SUCCEEDED_FOR);

	(void)db;
	if (st != STORE_OK)
		return st;
	for (int i = 0; i < table.n; i++)
		if (rows[i].booking_id == booking_id && strcmp(rows[i].status, "succeeded") == 0) {
			*out = rows[i];
			return STORE_OK;
		}
	return STORE_NOT_FOUND;
}

static struct charge *charge_of(const char *key)
{
	for (int i = 0; i < ncharges; i++)
		if (strcmp(ledger[i].key, key) == 0)
			return &ledger[i];
	return NULL;
}

int fake_gateway_charged(const char *key, int *refunded)
{
	const struct charge *c = charge_of(key);

	if (c && refunded)
		*refunded = c->refunded;
	return c != NULL;
}

enum store_status store_gateway_charge(struct db *db, const char *key, const char *token,
                                       int64_t amount_cents, int approve, int *approved)
{
	enum store_status st = fake_op(OP_GATEWAY_CHARGE);
	struct charge *c = charge_of(key);

	(void)db;
	(void)token;
	(void)amount_cents;
	if (st != STORE_OK)
		return st;
	if (c == NULL) {
		if (ncharges == FAKE_MAX)
			abort();
		c = &ledger[ncharges++];
		snprintf(c->key, sizeof(c->key), "%s", key);
		c->approved = approve;
	}
	*approved = c->approved;
	return STORE_OK;
}

enum store_status store_gateway_refund(struct db *db, const char *key)
{
	enum store_status st = fake_op(OP_GATEWAY_REFUND);
	struct charge *c = charge_of(key);

	(void)db;
	if (st == STORE_OK && c && c->approved)
		c->refunded = 1;
	return st;
}
