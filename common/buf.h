/* buf.h - a growable byte buffer that is always NUL-terminated. */
#ifndef FO_BUF_H
#define FO_BUF_H

#include <stddef.h>

struct buf {
	char *data; /* NUL-terminated; NULL until the first write */
	size_t len;
	size_t cap;
};

void buf_init(struct buf *b);
/* Free the contents; the buf may be reused after buf_init. */
void buf_release(struct buf *b);
void buf_reset(struct buf *b);
void buf_add(struct buf *b, const void *p, size_t n);
void buf_adds(struct buf *b, const char *s);
void buf_addc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append s as the inside of a JSON string (quotes not included). */
void buf_add_json_str(struct buf *b, const char *s);
/* The contents as a C string: "" when nothing was written. */
const char *buf_str(const struct buf *b);

#endif
