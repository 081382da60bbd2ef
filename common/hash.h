/* hash.h - FNV-1a, 64 bits: a fast, stable hash of bytes for table slots,
 * cache keys and statement names (never for anything an attacker must not
 * forge). hash_bytes continues from h, so the parts of a key chain from
 * HASH_SEED. */
#ifndef FO_HASH_H
#define FO_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define HASH_SEED  1469598103934665603ULL
#define HASH_PRIME 1099511628211ULL

static inline uint64_t hash_bytes(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * HASH_PRIME;
	return h;
}

static inline uint64_t hash_str(uint64_t h, const char *s)
{
	return hash_bytes(h, s, strlen(s));
}

#endif
