/* mem.h - allocation that never returns NULL: out of memory aborts the
 * process, and the prefork master starts a fresh worker in its place. */
#ifndef FO_MEM_H
#define FO_MEM_H

#include <stddef.h>

/* Return new memory; abort on exhaustion. Release with free(). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
/* Copy at most n bytes of s and a terminating NUL. */
char *xstrndup(const char *s, size_t n);

#endif
