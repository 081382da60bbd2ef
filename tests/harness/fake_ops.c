/* fake_ops.c - the failures and call counts of the fake store a handler
 * test links: one table of operation names, one failure and one count
 * per operation, and a one-shot failure for whichever call comes next.
 * It knows nothing of any service, and of rows only whether one was
 * found (fake_op_on). */
#include <stdlib.h>
#include <string.h>

#include "fake_ops.h"

static const char *const *names;
static int count;
static enum store_status fail[FAKE_OPS_MAX];
static int calls[FAKE_OPS_MAX];
static enum store_status next;

void fake_ops_reset(const char *const *op_names)
{
	names = op_names;
	for (count = 0; names[count]; count++)
		if (count == FAKE_OPS_MAX)
			abort(); /* raise FAKE_OPS_MAX */
	memset(fail, 0, sizeof(fail));
	memset(calls, 0, sizeof(calls));
	next = STORE_OK;
}

/* The index of operation name; a name the store does not have is a typo
 * in a test, which must not pass by counting nothing. */
static int op_of(const char *name)
{
	for (int i = 0; i < count; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	abort();
}

enum store_status fake_op(int op)
{
	enum store_status st = next;

	if (op < 0 || op >= count)
		abort(); /* fake_ops_reset not called, or a name missing */
	calls[op]++;
	next = STORE_OK;
	return st != STORE_OK ? st : fail[op];
}

enum store_status fake_op_on(int op, const void *row)
{
	enum store_status st = fake_op(op);

	return st == STORE_OK && row == NULL ? STORE_NOT_FOUND : st;
}

void fake_store_fail(const char *op, enum store_status st)
{
	int only = op ? op_of(op) : -1;

	for (int i = 0; i < count; i++)
		if (only < 0 || i == only)
			fail[i] = st;
}

void fake_store_fail_next(enum store_status st)
{
	next = st;
}

int fake_store_calls(const char *op)
{
	int only = op ? op_of(op) : -1;
	int n = 0;

	for (int i = 0; i < count; i++)
		if (only < 0 || i == only)
			n += calls[i];
	return n;
}
