/* fake_table.c - find and put rows by id in a fake store's array. It
 * reads only the id of a row, so it serves every row type. */
#include <stdlib.h>
#include <string.h>

#include "fake_table.h"

static char *row_at(const struct fake_table *t, int i)
{
	return (char *)t->rows + (size_t)i * t->size;
}

/* The id of row i; memcpy, as a row is only bytes here. */
static int64_t id_of(const struct fake_table *t, int i)
{
	int64_t id;

	memcpy(&id, row_at(t, i) + t->id_at, sizeof(id));
	return id;
}

void fake_table_reset(struct fake_table *t)
{
	memset(t->rows, 0, (size_t)t->max * t->size);
	t->n = 0;
}

int fake_table_index(const struct fake_table *t, int64_t id)
{
	for (int i = 0; i < t->n; i++)
		if (id_of(t, i) == id)
			return i;
	return -1;
}

void *fake_table_find(const struct fake_table *t, int64_t id)
{
	int i = fake_table_index(t, id);

	return i < 0 ? NULL : row_at(t, i);
}

int fake_table_put(struct fake_table *t, const void *row)
{
	int64_t id;
	int i;

	memcpy(&id, (const char *)row + t->id_at, sizeof(id));
	i = fake_table_index(t, id);
	if (i < 0) {
		if (t->n == t->max)
			abort();
		i = t->n++;
	}
	memcpy(row_at(t, i), row, t->size);
	return i;
}
