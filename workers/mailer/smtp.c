/* smtp.c - SMTP submission over libcurl: one easy handle per process, so
 * the connection to the server is reused between messages. libcurl does
 * the envelope, the dot-stuffing and the final "."; the message text is
 * message.c's. Passwords never reach a log line. */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "mailer.h"
#include "smtp.h"

struct upload {
	const char *data;
	size_t len;
	size_t pos;
};

static size_t read_part(char *dest, size_t size, size_t n, void *userp)
{
	struct upload *u = userp;
	size_t room = size * n, left = u->len - u->pos;
	size_t take = left < room ? left : room;

	memcpy(dest, u->data + u->pos, take);
	u->pos += take;
	return take;
}

static CURL *handle(void)
{
	static CURL *easy;
	static int ready;

	if (!ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return NULL;
		ready = 1;
	}
	if (easy == NULL)
		easy = curl_easy_init();
	else
		curl_easy_reset(easy); /* keeps the open connection */
	return easy;
}

static void server_url(const struct mailer_settings *c, char *out, size_t len)
{
	const char *scheme = c->smtp_port == 465 ? "smtps" : "smtp";

	if (strchr(c->smtp_server, ':'))
		snprintf(out, len, "%s://[%s]:%d", scheme, c->smtp_server, c->smtp_port);
	else
		snprintf(out, len, "%s://%s:%d", scheme, c->smtp_server, c->smtp_port);
}

static void set_options(CURL *h, const struct mailer_settings *c, const char *url, const char *from,
                        struct curl_slist *rcpt, int timeout_ms)
{
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROXY, "");
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
	                 (long)(timeout_ms < 5000 ? timeout_ms : 5000));
	/* STARTTLS whenever offered; required once there is a password to
	 * send, so credentials never cross the network in clear */
	curl_easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
	curl_easy_setopt(h, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	if (c->smtp_username && *c->smtp_username) {
		curl_easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
		curl_easy_setopt(h, CURLOPT_USERNAME, c->smtp_username);
		curl_easy_setopt(h, CURLOPT_PASSWORD, c->smtp_password ? c->smtp_password : "");
	}
}

int smtp_send(const struct mailer_settings *c, const char *rcpt, const char *msg, size_t len,
              int timeout_ms, char *err, size_t errlen)
{
	char url[320], from[300], to[300], detail[CURL_ERROR_SIZE] = "";
	struct upload up = {msg, len, 0};
	struct curl_slist *list = NULL;
	CURL *h = handle();
	long code = 0;

	if (h == NULL) {
		snprintf(err, errlen, "libcurl unavailable");
		return -1;
	}
	server_url(c, url, sizeof(url));
	snprintf(from, sizeof(from), "<%s>", c->smtp_from);
	snprintf(to, sizeof(to), "<%s>", rcpt);
	list = curl_slist_append(NULL, to);
	set_options(h, c, url, from, list, timeout_ms);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, read_part);
	curl_easy_setopt(h, CURLOPT_READDATA, &up);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, detail);
	CURLcode rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(h, CURLOPT_MAIL_RCPT, NULL);
	curl_slist_free_all(list);
	if (rc == CURLE_OK)
		return 0;
	snprintf(err, errlen, "smtp %ld: %s", code, detail[0] ? detail : curl_easy_strerror(rc));
	/* 5xx is the server's final word (no such mailbox, refused); 4xx and
	 * network failures may pass */
	return code >= 500 && code < 600 ? -2 : -1;
}
