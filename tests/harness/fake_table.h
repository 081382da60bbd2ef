/* fake_table.h - the table of rows an in-memory fake store keeps
 * (workers/<svc>/fake_store.c): rows of one struct type with an int64_t
 * member id, in a fixed array the store owns, found by id and put in
 * place (replaced when the id is there, else appended). What the rows
 * mean, the ids a create gives and every rule stay in the store. Test
 * code only; not thread-safe. */
#ifndef FO_FAKE_TABLE_H
#define FO_FAKE_TABLE_H

#include <stddef.h>
#include <stdint.h>

struct fake_table {
	void *rows;   /* max rows of size bytes, n of them in use */
	size_t size;  /* of a row */
	size_t id_at; /* offsetof the row's int64_t id */
	int max;
	int n;
};

/* An empty table over array, an array of type (a struct with an
 * int64_t id), for a static initialiser. */
#define FAKE_TABLE(array, type)                                                                    \
	{                                                                                          \
		(array), sizeof(type), offsetof(type, id), (int)(sizeof(array) / sizeof(type)), 0  \
	}

/* Empty t (its rows zeroed). */
void fake_table_reset(struct fake_table *t);
/* The index of the row of t with id, or -1 when there is none. */
int fake_table_index(const struct fake_table *t, int64_t id);
/* The row of t with id, or NULL when there is none. */
void *fake_table_find(const struct fake_table *t, int64_t id);
/* Copy row (its id included) into t, over the row with that id or
 * after the last; returns its index. Aborts when t is full (raise the
 * store's array size). */
int fake_table_put(struct fake_table *t, const void *row);

#endif
