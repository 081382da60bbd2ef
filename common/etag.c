/* etag.c - entity tags from a hash of the body: no state, no storage,
 * so every child of every pool gives the same tag for the same answer.
 * The body is still built for a 304; what is saved is the transfer. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "etag.h"
#include "hash.h"

/* The 8 bytes at p as a little-endian word, whatever the host's order,
 * so every machine gives the same tag (compilers make this one load). */
static uint64_t word_le(const unsigned char *p)
{
	uint64_t w = 0;

	for (int i = 7; i >= 0; i--)
		w = w << 8 | p[i];
	return w;
}

/* FNV-1a (hash.h) over 8-byte words, not bytes (a 300-seat map is 20
 * KiB, and byte at a time was a tenth of its request), with a shift after
 * each multiply so the words' high bits reach the low ones too; the last
 * bytes one at a time. */
void etag_of(const void *body, size_t len, char out[ETAG_MAX])
{
	const unsigned char *p = body;
	uint64_t h = HASH_SEED;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		h = (h ^ word_le(p + i)) * HASH_PRIME;
		h ^= h >> 29;
	}
	h = hash_bytes(h, p + i, len - i);
	snprintf(out, ETAG_MAX, "\"%016" PRIx64 "-%" PRIx64 "\"", h, (uint64_t)len);
}

/* The opaque part of a tag (its quoted text, W/ dropped): *len bytes at
 * the result; NULL when s does not start with a tag. */
static const char *opaque(const char *s, size_t *len)
{
	if (strncmp(s, "W/", 2) == 0)
		s += 2;
	if (*s != '"')
		return NULL;
	const char *end = strchr(s + 1, '"');
	if (end == NULL)
		return NULL;
	*len = (size_t)(end - s) + 1;
	return s;
}

int etag_matches(const char *header, const char *etag)
{
	size_t elen, n;
	const char *want = opaque(etag, &elen);

	if (want == NULL)
		return 0;
	for (const char *s = header; *s;) {
		s += strspn(s, " \t,");
		if (*s == '*')
			return 1;
		const char *tag = opaque(s, &n);
		if (tag == NULL)
			return 0; /* malformed: no match, the full answer is sent */
		if (n == elen && memcmp(tag, want, n) == 0)
			return 1;
		s = tag + n;
	}
	return 0;
}
