/* cors.c - the CORS origin list: exact origins only (no wildcard), so a
 * browser on some other site never reads an answer meant for the app.
 * It decides; serve.c writes the headers. */
#include <string.h>

#include "cors.h"

#define ORIGIN_MAX 256

/* Length of the entry at s (up to ',' or the end), without spaces around it. */
static const char *entry(const char *s, size_t *len)
{
	s += strspn(s, " ");
	size_t n = strcspn(s, ",");
	while (n > 0 && s[n - 1] == ' ')
		n--;
	*len = n;
	return s;
}

/* The next entry after the one at s (past its ','), or NULL at the end. */
static const char *next_entry(const char *s)
{
	const char *comma = strchr(s, ',');
	return comma ? comma + 1 : NULL;
}

int cors_allowed(const char *list, const char *origin)
{
	size_t olen = strlen(origin), n;

	if (list == NULL || olen == 0)
		return 0;
	for (const char *s = list; s; s = next_entry(s)) {
		const char *e = entry(s, &n);
		if (n == olen && memcmp(e, origin, n) == 0)
			return 1;
	}
	return 0;
}

/* 1 when the n bytes at e are scheme://host[:port] and nothing else. */
static int origin_ok(const char *e, size_t n)
{
	size_t skip;

	if (n >= 8 && memcmp(e, "https://", 8) == 0)
		skip = 8;
	else if (n >= 7 && memcmp(e, "http://", 7) == 0)
		skip = 7;
	else
		return 0;
	if (n == skip || n >= ORIGIN_MAX)
		return 0;
	for (size_t i = skip; i < n; i++) {
		char c = e[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
		      c == ':' || c == '[' || c == ']'))
			return 0;
	}
	return e[n - 1] != ':';
}

const char *cors_check_origins(const char *value)
{
	size_t n;

	for (const char *s = value; s; s = next_entry(s)) {
		const char *e = entry(s, &n);
		if (!origin_ok(e, n))
			return "must be comma-separated origins like https://app.example.com "
			       "(lower case, no path, no wildcard)";
	}
	return NULL;
}
