/* fake_ops.h - failure injection and call counting for the in-memory
 * fake stores of the handler tests (workers/<svc>/fake_store.c), so
 * each fake store only keeps its rows (fake_table.h) and rules. A fake store names its
 * operations once (an enum and the matching names), gives the names to
 * fake_ops_reset from its fake_store_reset, and starts each store
 * function with fake_op(OP_X): STORE_OK, or the failure a test asked
 * for, which it returns without doing anything. Tests name operations
 * by those names. Test code only; not thread-safe. */
#ifndef FO_FAKE_OPS_H
#define FO_FAKE_OPS_H

#include "store_status.h"

/* The most operations one fake store may name. */
#define FAKE_OPS_MAX 16

/* Forget every failure asked for and every call counted; from now on
 * operation i is names[i] (a NULL-terminated list of at most
 * FAKE_OPS_MAX names, which must outlive the test: a static table). */
void fake_ops_reset(const char *const *names);
/* Count a call of operation op (an index into the names): STORE_OK, or
 * the failure asked for (a pending fake_store_fail_next first, once;
 * else the one of fake_store_fail). Aborts when op is not named. */
enum store_status fake_op(int op);
/* fake_op for a call on one row (NULL: none found): the failure asked
 * for, else STORE_NOT_FOUND without row, else STORE_OK. */
enum store_status fake_op_on(int op, const void *row);
/* From now on operation op (NULL: every one) answers st; STORE_OK puts
 * it back to work. An unknown name aborts (a typo in a test). */
void fake_store_fail(const char *op, enum store_status st);
/* The next call of any operation answers st, once (STORE_OK: none). */
void fake_store_fail_next(enum store_status st);
/* Calls of operation op (NULL: of every one) since fake_ops_reset. */
int fake_store_calls(const char *op);

#endif
