/* mem.c - allocation wrappers that abort on exhaustion. A worker that runs
 * out of memory dies and its master starts a fresh one; nothing tries to
 * limp on. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"

static void *check(void *p)
{
	if (p == NULL) {
		fputs("{\"level\":\"error\",\"msg\":\"out of memory\"}\n", stderr);
		abort();
	}
	return p;
}

void *xmalloc(size_t n)
{
	return check(malloc(n ? n : 1));
}

void *xcalloc(size_t n, size_t size)
{
	return check(calloc(n ? n : 1, size ? size : 1));
}

void *xrealloc(void *p, size_t n)
{
	return check(realloc(p, n ? n : 1));
}

char *xstrdup(const char *s)
{
	return check(strdup(s));
}

char *xstrndup(const char *s, size_t n)
{
	return check(strndup(s, n));
}
