/* form.c - decode application/x-www-form-urlencoded pairs and query
 * strings in place of the caller's buffer. It rejects what would be
 * ambiguous later (bad escapes, NUL bytes) rather than guessing. */
#include <string.h>

#include "form.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

long form_decode(const char *src, size_t len, char *out, size_t outlen)
{
	size_t n = 0;

	if (outlen == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)src[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			if (i + 2 >= len)
				goto bad;
			int hi = hexval(src[i + 1]);
			int lo = hexval(src[i + 2]);
			if (hi < 0 || lo < 0)
				goto bad;
			c = hi * 16 + lo;
			i += 2;
		}
		if (c == 0 || n + 1 >= outlen)
			goto bad;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return (long)n;
bad:
	out[0] = '\0';
	return -1;
}

int form_get(const char *s, size_t len, const char *name, char *out, size_t outlen)
{
	size_t nlen = strlen(name);
	size_t i = 0;

	if (outlen)
		out[0] = '\0';
	while (s && i < len) {
		const char *pair = s + i;
		const char *amp = memchr(pair, '&', len - i);
		size_t plen = amp ? (size_t)(amp - pair) : len - i;
		const char *eq = memchr(pair, '=', plen);
		size_t klen = eq ? (size_t)(eq - pair) : plen;
		if (klen == nlen && memcmp(pair, name, nlen) == 0) {
			const char *v = eq ? eq + 1 : pair + plen;
			size_t vlen = eq ? plen - klen - 1 : 0;
			return form_decode(v, vlen, out, outlen) < 0 ? -1 : 1;
		}
		i += plen + 1;
	}
	return 0;
}
