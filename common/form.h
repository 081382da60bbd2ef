/* form.h - application/x-www-form-urlencoded and query-string decoding.
 * Pure functions over untrusted bytes; nothing is allocated. */
#ifndef FO_FORM_H
#define FO_FORM_H

#include <stddef.h>

/* Find the first name=value pair in s (length len, may be NULL) and
 * decode its value ('+' and %XX) into out (size outlen, NUL-terminated).
 * Returns 1 found, 0 absent, -1 bad encoding, embedded NUL, or value
 * longer than outlen - 1 (out is then ""). */
int form_get(const char *s, size_t len, const char *name, char *out, size_t outlen);

/* Decode %XX and '+' of src[0..len) into out (size outlen).
 * Returns the decoded length, or -1 as form_get does. */
long form_decode(const char *src, size_t len, char *out, size_t outlen);

#endif
