/* http.c - service-to-service HTTP over libcurl: one easy handle per
 * process (connections are reused), a timeout on every call, no
 * redirects followed, no proxies from the environment. */
#include <curl/curl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "http.h"
#include "log.h"

static CURL *easy;

static size_t collect(char *data, size_t size, size_t n, void *userp)
{
	buf_add(userp, data, size * n);
	return size * n;
}

static CURL *handle(void)
{
	static int ready;

	if (!ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return NULL;
		ready = 1;
	}
	if (easy == NULL)
		easy = curl_easy_init();
	else
		curl_easy_reset(easy);
	return easy;
}

static struct curl_slist *headers(const char *service_key, const char *request_id, const char *json)
{
	struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json");
	char line[256];

	if (service_key) {
		snprintf(line, sizeof(line), "X-Service-Key: %s", service_key);
		h = curl_slist_append(h, line);
	}
	if (request_id && *request_id) {
		snprintf(line, sizeof(line), "X-Request-ID: %s", request_id);
		h = curl_slist_append(h, line);
	}
	if (json)
		h = curl_slist_append(h, "Content-Type: application/json");
	return h;
}

int http_call(const char *method, const char *url, const char *service_key, const char *request_id,
              const char *json, int timeout_ms, struct http_response *resp)
{
	CURL *c = handle();
	struct curl_slist *h = NULL;
	long status = 0;
	CURLcode rc = CURLE_FAILED_INIT;

	resp->status = 0;
	buf_init(&resp->body);
	if (c == NULL)
		return -1;
	h = headers(service_key, request_id, json);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp->body);
	if (json)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
	rc = curl_easy_perform(c);
	curl_slist_free_all(h);
	if (rc != CURLE_OK) {
		log_warn("service call failed", "url", url, "error", curl_easy_strerror(rc));
		return -1;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	resp->status = (int)status;
	return 0;
}

void http_response_release(struct http_response *resp)
{
	buf_release(&resp->body);
	resp->status = 0;
}

struct json_object *http_response_json(const struct http_response *resp)
{
	struct json_object *o = json_tokener_parse(buf_str(&resp->body));

	if (o && !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}
