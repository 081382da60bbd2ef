/* route.c - match a method and path against a NULL-terminated table.
 * Patterns are literal segments and ":name" captures of one segment.
 * It tells "no such path" (404) from "path exists, other method" (405)
 * and collects the allowed methods for the Allow header. */
#include <stdio.h>
#include <string.h>

#include "route.h"

/* Length of the segment at p (up to '/' or end). */
static size_t seg_len(const char *p)
{
	return strcspn(p, "/");
}

static int capture(struct route_match *m, const char *name, size_t nlen, const char *val,
                   size_t vlen)
{
	if (vlen == 0 || vlen >= ROUTE_PARAM_MAX || nlen >= sizeof(m->params[0].name) ||
	    m->nparams >= ROUTE_MAX_PARAMS)
		return -1;
	memcpy(m->params[m->nparams].name, name, nlen);
	m->params[m->nparams].name[nlen] = '\0';
	memcpy(m->params[m->nparams].value, val, vlen);
	m->params[m->nparams].value[vlen] = '\0';
	m->nparams++;
	return 0;
}

/* 1 when path matches pattern (filling captures), else 0. */
static int path_matches(const char *pattern, const char *path, size_t pathlen,
                        struct route_match *m)
{
	const char *pe = path + pathlen;

	m->nparams = 0;
	while (*pattern == '/' && path < pe && *path == '/') {
		pattern++;
		path++;
		size_t pl = seg_len(pattern);
		size_t vl = strcspn(path, "/");
		if (path + vl > pe)
			vl = (size_t)(pe - path);
		if (*pattern == ':') {
			if (capture(m, pattern + 1, pl - 1, path, vl) < 0)
				return 0;
		} else if (pl != vl || memcmp(pattern, path, pl) != 0) {
			return 0;
		}
		pattern += pl;
		path += vl;
	}
	return *pattern == '\0' && path == pe;
}

/* 1 when the list "GET, POST" holds method exactly. */
static int allow_has(const char *allow, const char *method)
{
	size_t n = strlen(method);

	for (const char *s = allow; (s = strstr(s, method)) != NULL; s += n)
		if ((s == allow || s[-1] == ' ') && (s[n] == ',' || s[n] == '\0'))
			return 1;
	return 0;
}

static void allow_add(struct route_match *m, const char *method)
{
	size_t n = strlen(m->allow);

	if (allow_has(m->allow, method))
		return;
	snprintf(m->allow + n, sizeof(m->allow) - n, "%s%s", n ? ", " : "", method);
}

/* 1 when a request with method may use route r: its own method, or HEAD
 * for a GET. */
static int method_matches(const struct route *r, const char *method)
{
	return strcmp(r->method, method) == 0 ||
	       (strcmp(method, "HEAD") == 0 && strcmp(r->method, "GET") == 0);
}

enum route_result route_find(const struct route *table, const char *method, const char *path,
                             struct route_match *m)
{
	size_t len = strlen(path);
	enum route_result res = ROUTE_NOT_FOUND;

	/* One spelling per route: "/flights/" is not "/flights" (404), so
	 * that nginx's per-route limits, keyed on the exact path, cannot be
	 * walked around with a trailing slash. */
	memset(m, 0, sizeof(*m));
	for (const struct route *r = table; r && r->method; r++) {
		if (!path_matches(r->pattern, path, len, m))
			continue;
		if (method_matches(r, method)) {
			m->route = r;
			m->allow[0] = '\0';
			return ROUTE_FOUND;
		}
		allow_add(m, r->method);
		if (strcmp(r->method, "GET") == 0)
			allow_add(m, "HEAD");
		res = ROUTE_BAD_METHOD;
	}
	m->nparams = 0;
	return res;
}

const char *route_param(const struct route_match *m, const char *name)
{
	for (int i = 0; i < m->nparams; i++)
		if (strcmp(m->params[i].name, name) == 0)
			return m->params[i].value;
	return NULL;
}
