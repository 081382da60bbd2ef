/* gateways.c - calls to every gateway of a list (gateways.h). */
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "gateways.h"
#include "http.h"
#include "log.h"

static const char SEPARATORS[] = " \t,";

const char *gateways_check(const char *value)
{
	int n = 0;

	for (const char *p = value + strspn(value, SEPARATORS); *p; p += strspn(p, SEPARATORS)) {
		size_t len = strcspn(p, SEPARATORS);
		if (strncmp(p, "http://", 7) != 0 && strncmp(p, "https://", 8) != 0)
			return "must be http:// or https:// URLs, separated by spaces or commas";
		if (len > GATEWAY_URL_MAX)
			return "has a URL that is too long";
		if (++n > GATEWAYS_MAX)
			return "lists more than 16 gateways";
		p += len;
	}
	return NULL;
}

void gateways_each(struct gateways *g, const char *urls, gateway_fn fn, void *ctx)
{
	const char *p = urls;

	if (p == NULL)
		return;
	for (int i = 0; i < GATEWAYS_MAX && *(p += strspn(p, SEPARATORS)); i++) {
		size_t len = strcspn(p, SEPARATORS);
		int64_t now = clock_ms();
		if (g->retry_at[i] <= now)
			g->retry_at[i] = fn(p, len, ctx) < 0 ? now + GATEWAY_BACKOFF_MS : 0;
		p += len;
	}
}

struct purge {
	const char *const *keys;
	int n;
};

static int purge_one(const char *base, size_t baselen, void *ctx)
{
	const struct purge *pg = ctx;
	char url[GATEWAY_URL_MAX + 160];

	for (int i = 0; i < pg->n; i++) {
		struct http_response resp;
		snprintf(url, sizeof(url), "%.*s/%s", (int)baselen, base, pg->keys[i]);
		int rc = http_call("PURGE", url, NULL, NULL, NULL, GATEWAY_TIMEOUT_MS, &resp);
		int ok = rc == 0 && (resp.status == 200 || resp.status == 404);
		if (!ok) {
			char code[16];
			snprintf(code, sizeof(code), "%d", rc < 0 ? 0 : resp.status);
			log_warn("cache purge failed", "url", url, "http_status", code);
		}
		http_response_release(&resp);
		if (!ok)
			return -1;
	}
	return 0;
}

void gateways_purge(struct gateways *g, const char *urls, const char *const *keys, int n)
{
	struct purge pg = {keys, n};

	gateways_each(g, urls, purge_one, &pg);
}
