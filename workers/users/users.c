/* users.c - registration, login and profile handlers: parse -> validate
 * -> store -> reply. Passwords are hashed with yescrypt; logins of
 * unknown users spend the same time as wrong passwords; failed logins are
 * limited per username in Redis (failing open, logged, when Redis is
 * down, so an outage does not lock everyone out). */
#include <ctype.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "field.h"
#include "form.h"
#include "kv.h"
#include "log.h"
#include "mem.h"
#include "reply.h"
#include "service.h"
#include "req.h"
#include "store.h"
#include "users.h"
#include "worker.h"

#define PASSWORD_MIN   8
#define PASSWORD_MAX   72
#define LOGIN_NAME_MAX 64

static const char incorrect[] = "Incorrect username or password";

static const struct users_settings *settings(const struct worker *w)
{
	return w->settings;
}

int users_username_valid(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-");
	return s[n] == '\0' && n >= 3 && n <= 32;
}

static int domain_valid(const char *d)
{
	size_t label = 0;
	int dots = 0;

	for (; *d; d++) {
		if (*d == '.') {
			if (label == 0)
				return 0;
			label = 0;
			dots++;
		} else if (isalnum((unsigned char)*d) || *d == '-' || (unsigned char)*d >= 0x80) {
			label++;
		} else {
			return 0;
		}
	}
	return dots > 0 && label > 0;
}

int users_email_valid(const char *s)
{
	const char *at = strchr(s, '@');

	if (at == NULL || at == s || at - s > 64 || strchr(at + 1, '@') || strlen(s) > 254)
		return 0;
	for (const char *p = s; p < at; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f || strchr("\"(),:;<>[\\]", *p))
			return 0;
	return domain_valid(at + 1);
}

static struct json_object *user_json(const struct user *u)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_int64(u->id));
	json_object_object_add(o, "email", json_object_new_string(u->email));
	json_object_object_add(o, "username", json_object_new_string(u->username));
	json_object_object_add(o, "full_name", json_object_new_string(u->full_name));
	json_object_object_add(o, "role", json_object_new_string(u->role));
	json_object_object_add(o, "is_active", json_object_new_boolean(u->is_active));
	json_object_object_add(o, "created_at", json_object_new_string(u->created_at));
	return o;
}

/* Read and check the registration body into u; 0, or -1 after replying. */
static int read_registration(struct req *r, struct user *u, const char **password)
{
	struct json_object *body = req_json_or_reply(r);
	struct field_errors e;
	const char *email = NULL, *username = NULL, *full_name = NULL;

	if (body == NULL)
		return -1;
	field_errors_init(&e);
	if (field_str(body, "email", 3, 254, FIELD_REQUIRED, &email, &e) > 0 &&
	    !users_email_valid(email))
		field_error_add(&e, "body", "email", "value is not a valid email address",
		                "value_error");
	if (field_str(body, "username", 3, 32, FIELD_REQUIRED, &username, &e) > 0 &&
	    !users_username_valid(username))
		field_error_add(&e, "body", "username",
		                "Username may contain only letters, digits, '_', '.' and '-'",
		                "string_pattern_mismatch");
	field_str(body, "full_name", 1, 128, FIELD_REQUIRED, &full_name, &e);
	field_str(body, "password", PASSWORD_MIN, PASSWORD_MAX, FIELD_REQUIRED, password, &e);
	if (e.count) {
		reply_invalid(r, &e);
		return -1;
	}
	field_errors_release(&e);
	snprintf(u->email, sizeof(u->email), "%s", email);
	snprintf(u->username, sizeof(u->username), "%s", username);
	snprintf(u->full_name, sizeof(u->full_name), "%s", full_name);
	snprintf(u->role, sizeof(u->role), "user");
	return 0;
}

void users_register(struct req *r)
{
	struct user u = {0}, out;
	const char *password = NULL;
	int email_taken;

	if (read_registration(r, &u, &password) < 0)
		return;
	/* The hash costs tens of milliseconds: a taken name or address is
	 * answered before it, so repeated sign-ups cannot make a pool hash
	 * for nothing. The insert still answers 409 when another request
	 * took the name in between (the unique indexes). */
	enum store_status st = store_user_taken(r->w->db, &u, &email_taken);
	if (reply_unless_ok(r, st, NULL,
	                    email_taken ? "Email already registered" : "Username already taken") <
	    0)
		return;
	if (auth_password_hash(password, u.password_hash, sizeof(u.password_hash)) < 0) {
		log_error("password hashing failed");
		return;
	}
	st = store_user_create(r->w->db, &u, &out, &email_taken);
	if (reply_unless_ok(r, st, NULL,
	                    email_taken ? "Email already registered" : "Username already taken") <
	    0)
		return;
	reply_json(r, 201, user_json(&out));
}

/* Read username and password from a form or JSON body into the
 * buffers; 0, or -1 after replying 400/422. */
static int read_login(struct req *r, char *name, size_t nlen, char *pw, size_t pwlen)
{
	struct field_errors e;

	field_errors_init(&e);
	if (req_is_form(r)) {
		int has_name = form_get(r->body, r->body_len, "username", name, nlen);
		int has_pw = form_get(r->body, r->body_len, "password", pw, pwlen);
		if (has_name < 0 || has_pw < 0) {
			field_errors_release(&e);
			reply_error(r, 400, "Malformed form body");
			return -1;
		}
		if (!has_name || !*name)
			field_error_add(&e, "body", "username", "Field required", "missing");
		else if (!field_utf8_valid(name, strlen(name)))
			field_error_add(&e, "body", "username", "String should be valid UTF-8",
			                "string_unicode");
		if (!has_pw || !*pw)
			field_error_add(&e, "body", "password", "Field required", "missing");
		else if (!field_utf8_valid(pw, strlen(pw)))
			field_error_add(&e, "body", "password", "String should be valid UTF-8",
			                "string_unicode");
	} else {
		struct json_object *body = req_json_or_reply(r);
		const char *n = NULL, *p = NULL;
		if (body == NULL) {
			field_errors_release(&e);
			return -1;
		}
		field_str(body, "username", 1, nlen - 1, FIELD_REQUIRED, &n, &e);
		field_str(body, "password", 1, pwlen - 1, FIELD_REQUIRED, &p, &e);
		snprintf(name, nlen, "%s", n ? n : "");
		snprintf(pw, pwlen, "%s", p ? p : "");
	}
	if (e.count) {
		reply_invalid(r, &e);
		return -1;
	}
	field_errors_release(&e);
	return 0;
}

static void failure_key(const char *username, char *key, size_t len)
{
	size_t n = (size_t)snprintf(key, len, "login_fail:");

	for (; *username && n + 1 < len; username++)
		key[n++] = (char)tolower((unsigned char)*username);
	key[n] = '\0';
}

/* 1 when this username is locked out (after replying 429), else 0. */
static int locked_out(struct req *r, const char *key)
{
	long long failures = 0, ttl = 0;
	char retry[24];

	if (kv_get_int(r->w->kv, key, &failures) < 0) {
		log_warn("login limit unavailable: redis down");
		return 0;
	}
	if (failures < settings(r->w)->login_max_failures)
		return 0;
	if (kv_ttl(r->w->kv, key, &ttl) < 0 || ttl < 1)
		ttl = settings(r->w)->login_window_seconds;
	snprintf(retry, sizeof(retry), "%lld", ttl);
	reply_header(r, "Retry-After", retry);
	reply_error(r, 429, "Too many failed login attempts; try again later");
	return 1;
}

/* 1 when name/password are right for an active user (u filled). Takes
 * one hash verification whether or not the user exists. */
static int credentials_ok(struct req *r, const char *name, const char *pw, struct user *u)
{
	enum store_status st = STORE_NOT_FOUND;

	if (strlen(pw) <= PASSWORD_MAX && strlen(name) <= 32)
		st = store_user_by_username(r->w->db, name, u);
	if (st == STORE_ERROR)
		return -1;
	if (st != STORE_OK) {
		auth_password_dummy(pw);
		return 0;
	}
	return auth_password_verify(pw, u->password_hash) && u->is_active;
}

static void issue_token(struct req *r, const struct user *u)
{
	struct auth_claims c = {.uid = u->id, .admin = strcmp(u->role, "admin") == 0};
	int64_t ttl = (int64_t)settings(r->w)->access_token_minutes * 60;
	struct json_object *o;

	snprintf(c.sub, sizeof(c.sub), "%s", u->username);
	char *token = auth_token_issue(r->w->conf->secret_key, &c, time(NULL), ttl);
	if (token == NULL) {
		log_error("token signing failed");
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "access_token", json_object_new_string(token));
	json_object_object_add(o, "token_type", json_object_new_string("bearer"));
	json_object_object_add(o, "expires_in", json_object_new_int64(ttl));
	reply_json(r, 200, o);
	free(token);
}

void users_token(struct req *r)
{
	char name[LOGIN_NAME_MAX + 1], pw[PASSWORD_MAX * 4], key[96];
	struct user u;
	long long n;

	if (read_login(r, name, sizeof(name), pw, sizeof(pw)) < 0)
		return;
	failure_key(name, key, sizeof(key));
	if (locked_out(r, key))
		return;
	int ok = credentials_ok(r, name, pw, &u);
	explicit_bzero(pw, sizeof(pw));
	if (ok < 0) {
		reply_error(r, 503, REPLY_DB_DOWN);
		return;
	}
	if (!ok) {
		if (kv_incr_window(r->w->kv, key, settings(r->w)->login_window_seconds, &n) < 0)
			log_warn("login failure not counted: redis down");
		reply_header(r, "WWW-Authenticate", "Bearer");
		reply_error(r, 401, incorrect);
		return;
	}
	kv_del(r->w->kv, key);
	issue_token(r, &u);
}

/* Per child: the answers of GET /users/me, each kept as long as serve.c
 * keeps a user check (USER_CHECK_SECONDS). No route changes a user once
 * registered (only an operator's hand does), and a deactivated user's
 * token is refused within that time on every pool anyway; within it, a
 * caller that asks again costs no PostgreSQL query. The user check of
 * this pool (users_active) reads the same row, so it keeps the answer
 * too: a first /users/me reads the row once, not twice. */
#define ME_SLOTS 64
static struct me_slot {
	int64_t uid;
	time_t until;
	char *json; /* malloc'd: the exact bytes replied */
	size_t len;
} me_slots[ME_SLOTS];

static struct me_slot *me_slot(int64_t uid)
{
	return &me_slots[(uint64_t)uid % ME_SLOTS];
}

/* Keep active user u's answer until now + USER_CHECK_SECONDS. */
static struct me_slot *me_keep(const struct user *u, time_t now)
{
	struct me_slot *slot = me_slot(u->id);
	struct json_object *o = user_json(u);
	const char *text = reply_json_text(o, &slot->len);

	free(slot->json);
	slot->json = xmalloc(slot->len + 1);
	memcpy(slot->json, text, slot->len + 1);
	slot->uid = u->id;
	slot->until = now + USER_CHECK_SECONDS;
	json_object_put(o);
	return slot;
}

void users_me(struct req *r)
{
	struct user u;
	time_t now = time(NULL);
	struct me_slot *slot = me_slot(r->user.uid);

	if (!(slot->json && slot->uid == r->user.uid && now < slot->until)) {
		enum store_status st = store_user_by_id(r->w->db, r->user.uid, &u);
		if (st == STORE_ERROR) {
			reply_error(r, 503, REPLY_DB_DOWN);
			return;
		}
		if (st != STORE_OK || !u.is_active) {
			/* a deleted or deactivated user's token is no longer good */
			reply_header(r, "WWW-Authenticate", "Bearer");
			reply_error(r, 401, "Could not validate credentials");
			return;
		}
		slot = me_keep(&u, now);
	}
	reply_raw(r, 200, "application/json", slot->json, slot->len);
}

void users_get(struct req *r)
{
	struct user u;
	int64_t id;

	if (req_param_id_or_reply(r, "id", NULL, &id) < 0 ||
	    reply_unless_ok(r, store_user_by_id(r->w->db, id, &u), "User not found", NULL) < 0)
		return;
	reply_json(r, 200, user_json(&u));
}

int users_active(struct worker *w, int64_t uid, const char *request_id)
{
	struct user u;

	(void)request_id;
	switch (store_user_by_id(w->db, uid, &u)) {
	case STORE_OK:
		if (u.is_active)
			me_keep(&u, time(NULL));
		return u.is_active;
	case STORE_NOT_FOUND:
		return 0;
	default:
		return -1;
	}
}

int users_bootstrap(struct worker *w)
{
	const struct users_settings *c = settings(w);
	struct user u = {0}, out;
	int email_taken;

	if (c->admin_username == NULL)
		return 0;
	if (store_user_by_username(w->db, c->admin_username, &out) == STORE_OK)
		return 0;
	snprintf(u.email, sizeof(u.email), "%s", c->admin_email);
	snprintf(u.username, sizeof(u.username), "%s", c->admin_username);
	snprintf(u.full_name, sizeof(u.full_name), "Administrator");
	snprintf(u.role, sizeof(u.role), "admin");
	if (auth_password_hash(c->admin_password, u.password_hash, sizeof(u.password_hash)) < 0)
		return -1;
	enum store_status st = store_user_create(w->db, &u, &out, &email_taken);
	if (st == STORE_OK)
		log_info("admin user created", "username", u.username);
	else
		log_error("cannot create the admin user", "username", u.username);
	return st == STORE_OK ? 0 : -1;
}

void users_check_settings(const void *settings, struct buf *errors)
{
	const struct users_settings *s = settings;

	if (s->admin_username && s->admin_password == NULL)
		buf_adds(errors, "ADMIN_PASSWORD: is required when ADMIN_USERNAME is set\n");
	if (s->admin_password && (strlen(s->admin_password) < 8 || strlen(s->admin_password) > 72))
		buf_adds(errors, "ADMIN_PASSWORD: must be 8 to 72 bytes\n");
}
