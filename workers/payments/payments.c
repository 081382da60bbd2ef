/* payments.c - take payments for pending bookings: parse -> check with the
 * bookings pool -> tokenise the card -> store -> 202. The charge happens
 * later, in the tick child: claim (lease) -> gateway (idempotent by the
 * payment id) -> result + event in one statement -> the outbox relay
 * asks bookings to confirm, and refunds when the booking is gone. The
 * card number lives only in this request's memory and is wiped after
 * use: it is never stored, logged or returned. */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bookings/event.h"
#include "event.h"
#include "field.h"
#include "gateway.h"
#include "http.h"
#include "idem.h"
#include "log.h"
#include "metrics.h"
#include "outbox.h"
#include "payments.h"
#include "peer.h"
#include "reply.h"
#include "req.h"
#include "store.h"
#include "worker.h"

#define CARD_MAX    20
#define AMOUNT_MAX  100000000 /* 1,000,000.00 */
#define CLAIM_BATCH 10

#define NOT_FOUND      "Payment not found"
#define NOT_REFUNDABLE "Only a succeeded payment can be refunded"
#define REFUND_DOWN    "Payment gateway or database unavailable"

static const char *const methods[] = {"credit_card", "debit_card", NULL};

/* ---- cards ---- */

int payments_luhn(const char *digits)
{
	size_t n = strlen(digits);
	int sum = 0;

	for (size_t i = 0; i < n; i++) {
		int d = digits[n - 1 - i] - '0';
		if (i % 2 == 1) {
			d *= 2;
			if (d > 9)
				d -= 9;
		}
		sum += d;
	}
	return n > 0 && sum % 10 == 0;
}

int payments_card_number(const char *s, char *out, size_t outlen)
{
	size_t n = 0;

	for (; *s; s++) {
		if (*s == ' ' || *s == '-')
			continue;
		if (*s < '0' || *s > '9' || n + 1 >= outlen)
			goto bad;
		out[n++] = *s;
	}
	out[n] = '\0';
	if (n >= 12 && n <= 19 && payments_luhn(out))
		return 0;
bad:
	memset(out, 0, outlen);
	return -1;
}

const char *payments_card_brand(const char *d)
{
	int two = (d[0] - '0') * 10 + (d[1] - '0');
	int four = two * 100 + (d[2] - '0') * 10 + (d[3] - '0');

	if (d[0] == '4')
		return "visa";
	if ((two >= 51 && two <= 55) || (four >= 2221 && four <= 2720))
		return "mastercard";
	if (two == 34 || two == 37)
		return "amex";
	if (four == 6011 || two == 65)
		return "discover";
	return "unknown";
}

/* ---- JSON ---- */

static struct json_object *text_or_null(const char *s)
{
	return *s ? json_object_new_string(s) : NULL;
}

static struct json_object *payment_json(const void *row)
{
	const struct payment *p = row;
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_int64(p->id));
	json_object_object_add(o, "booking_id", json_object_new_int64(p->booking_id));
	json_object_object_add(o, "user_id", json_object_new_int64(p->user_id));
	json_object_object_add(o, "amount", field_json_money(p->amount_cents));
	json_object_object_add(o, "payment_method", json_object_new_string(p->payment_method));
	json_object_object_add(o, "card_last4", json_object_new_string(p->card_last4));
	json_object_object_add(o, "card_brand", json_object_new_string(p->card_brand));
	json_object_object_add(o, "status", json_object_new_string(p->status));
	json_object_object_add(o, "failure_reason", text_or_null(p->failure_reason));
	json_object_object_add(o, "created_at", json_object_new_string(p->created_at));
	json_object_object_add(o, "processed_at", text_or_null(p->processed_at));
	json_object_object_add(o, "refunded_at", text_or_null(p->refunded_at));
	return o;
}

static void count(struct worker *w, const char *status)
{
	char labels[48];

	snprintf(labels, sizeof(labels), "status=\"%s\"", status);
	metrics_inc(w->metrics, "payments_total", labels);
}

/* ---- create ---- */

struct pay_input {
	int64_t booking_id;
	int64_t amount_cents;
	int method; /* index in methods */
	char card[CARD_MAX];
};

struct booking_view {
	int64_t user_id;
	int64_t total_cents;
	char status[16];
	int flight_departed; /* bookings' flight_departed: it cannot be paid for */
};

/* Read and check the body; 0, or -1 after replying 400/422. */
static int read_payment_or_reply(struct req *r, struct pay_input *in)
{
	struct json_object *body = req_json_or_reply(r);
	struct field_errors e;
	const char *card = NULL;

	if (body == NULL)
		return -1;
	field_errors_init(&e);
	field_int64(body, "booking_id", 1, INT64_MAX, FIELD_REQUIRED, &in->booking_id, &e);
	field_money(body, "amount", AMOUNT_MAX, FIELD_REQUIRED, &in->amount_cents, &e);
	field_enum(body, "payment_method", methods, FIELD_REQUIRED, &in->method, &e);
	if (field_str(body, "card_number", 1, 64, FIELD_REQUIRED, &card, &e) > 0 &&
	    payments_card_number(card, in->card, sizeof(in->card)) < 0)
		field_error_add(&e, "body", "card_number",
		                "Card number must be 12 to 19 digits and pass the Luhn check",
		                "value_error");
	if (e.count) {
		reply_invalid(r, &e);
		return -1;
	}
	field_errors_release(&e);
	return 0;
}

static int booking_from_json(struct json_object *o, struct booking_view *b)
{
	struct json_object *v;
	struct field_errors e;

	if (o == NULL || !json_object_object_get_ex(o, "user_id", &v))
		return -1;
	b->user_id = json_object_get_int64(v);
	if (!json_object_object_get_ex(o, "status", &v))
		return -1;
	snprintf(b->status, sizeof(b->status), "%s", json_object_get_string(v));
	b->flight_departed =
	        json_object_object_get_ex(o, "flight_departed", &v) && json_object_get_boolean(v);
	field_errors_init(&e);
	int ok = field_money(o, "total_amount", INT64_MAX / 100, FIELD_REQUIRED, &b->total_cents,
	                     &e) > 0;
	field_errors_release(&e);
	return ok ? 0 : -1;
}

/* The caller's booking id from the bookings pool: 0, or -1 after
 * replying 404 (missing or someone else's) or 503. */
static int booking_for_or_reply(struct req *r, int64_t id, struct booking_view *b)
{
	struct http_response resp;
	char path[48];

	snprintf(path, sizeof(path), "/internal/bookings/%" PRId64, id);
	int rc = peer_call(r->w, "bookings", "GET", path, r->request_id, NULL, &resp);
	if (rc == 0 && resp.status == 200) {
		struct json_object *o = http_response_json(&resp);
		rc = booking_from_json(o, b);
		json_object_put(o);
	} else if (rc == 0 && resp.status == 404) {
		rc = 1;
	} else {
		rc = -1;
	}
	http_response_release(&resp);
	if (rc == 0 && !req_is_privileged(r) && b->user_id != r->user.uid)
		rc = 1;
	if (rc == 1)
		reply_error(r, 404, "Booking not found");
	else if (rc < 0)
		reply_error(r, 503, "Booking service unavailable");
	return rc == 0 ? 0 : -1;
}

/* 0 when b can be paid for now, else -1 after replying 409. */
static int pending_or_reply(struct req *r, const struct booking_view *b)
{
	char detail[48];

	if (strcmp(b->status, "pending") == 0 && !b->flight_departed)
		return 0;
	if (strcmp(b->status, "pending") == 0)
		snprintf(detail, sizeof(detail), "Flight has already departed");
	else
		snprintf(detail, sizeof(detail), "Booking is %s", b->status);
	reply_error(r, 409, detail);
	return -1;
}

/* 0 when amount_cents is b's total, else -1 after replying 422. */
static int amount_or_reply(struct req *r, const struct booking_view *b, int64_t amount_cents)
{
	struct field_errors e;
	char total[32], msg[96];

	if (b->total_cents == amount_cents)
		return 0;
	field_format_money(b->total_cents, total, sizeof(total));
	snprintf(msg, sizeof(msg), "Amount must equal the booking total (%s)", total);
	field_errors_init(&e);
	field_error_add(&e, "body", "amount", msg, "value_error");
	reply_invalid(r, &e);
	return -1;
}

/* Check the booking, tokenise the card and store the payment. */
static void charge_later(struct req *r, struct pay_input *in)
{
	struct booking_view b;
	struct payment p = {0}, out;

	if (booking_for_or_reply(r, in->booking_id, &b) < 0 || pending_or_reply(r, &b) < 0 ||
	    amount_or_reply(r, &b, in->amount_cents) < 0)
		return;
	p.booking_id = in->booking_id;
	p.user_id = b.user_id;
	p.amount_cents = in->amount_cents;
	snprintf(p.payment_method, sizeof(p.payment_method), "%s", methods[in->method]);
	snprintf(p.card_last4, sizeof(p.card_last4), "%s", in->card + strlen(in->card) - 4);
	snprintf(p.card_brand, sizeof(p.card_brand), "%s", payments_card_brand(in->card));
	snprintf(p.request_id, sizeof(p.request_id), "%s", r->request_id);
	if (gateway_tokenize(r->w, in->card, p.gateway_token, sizeof(p.gateway_token)) < 0) {
		reply_error(r, 503, "Payment gateway unavailable");
		return;
	}
	if (reply_unless_ok(r, store_payment_create(r->w->db, &p, &out), NULL,
	                    "This booking already has a payment in progress or completed") < 0)
		return;
	count(r->w, "pending");
	reply_json(r, 202, payment_json(&out));
}

static void create(struct req *r)
{
	struct pay_input in;

	memset(&in, 0, sizeof(in));
	if (read_payment_or_reply(r, &in) == 0)
		charge_later(r, &in);
	explicit_bzero(in.card, sizeof(in.card));
}

/* The request's identity for Idempotency-Key, without the card number:
 * booking, amount, method and last four digits. */
static void payment_hash(struct req *r, char *out, size_t len)
{
	struct json_object *body = req_json_or_reply(r), *v;
	struct buf b;
	const char *fields[] = {"booking_id", "amount", "payment_method"};

	buf_init(&b);
	for (size_t i = 0; body && i < sizeof(fields) / sizeof(fields[0]); i++)
		if (json_object_object_get_ex(body, fields[i], &v))
			buf_printf(&b, "%s=%s|", fields[i], json_object_to_json_string(v));
	if (body && json_object_object_get_ex(body, "card_number", &v) &&
	    json_object_is_type(v, json_type_string) && json_object_get_string_len(v) >= 4)
		buf_printf(&b, "last4=%s",
		           json_object_get_string(v) + json_object_get_string_len(v) - 4);
	idem_hash(buf_str(&b), b.len, out, len);
	buf_release(&b);
}

/* Wipe the card number from the request's memory (body and parsed JSON). */
static void forget_card(struct req *r)
{
	struct json_object *v;

	if (r->json && json_object_object_get_ex(r->json, "card_number", &v) &&
	    json_object_is_type(v, json_type_string))
		explicit_bzero((char *)json_object_get_string(v),
		               (size_t)json_object_get_string_len(v));
	if (r->body)
		explicit_bzero(r->body, r->body_len);
}

void payments_create(struct req *r)
{
	char hash[48];

	payment_hash(r, hash, sizeof(hash));
	if (r->status == 0)
		idem_run(r, hash, create);
	forget_card(r);
}

/* ---- reads and refunds ---- */

void payments_get(struct req *r)
{
	struct payment p;
	int64_t id;

	if (req_param_id_or_reply(r, "id", NULL, &id) < 0)
		return;
	enum store_status st = store_payment_get(r->w->db, id, req_owner(r), &p);
	if (reply_unless_ok(r, st, NOT_FOUND, NULL) == 0)
		reply_json(r, 200, payment_json(&p));
}

void payments_list(struct req *r)
{
	int64_t booking_id = 0, limit, offset, total = 0;
	const struct req_filter filters[] = {
	        {"booking_id", REQ_FILTER_ID, NULL, &booking_id},
	        {.name = NULL},
	};
	struct payment *rows = NULL;
	int n = 0;

	if (req_list_or_reply(r, filters, &limit, &offset) < 0)
		return;
	enum store_status st = store_payment_list(r->w->db, req_owner(r), booking_id, limit, offset,
	                                          &rows, &n, &total);
	if (reply_unless_ok(r, st, NULL, NULL) == 0)
		reply_rows(r, rows, n, sizeof(*rows), payment_json, total);
	free(rows);
}

/* Refund a succeeded payment at the gateway, then record it. */
static enum store_status refund(struct worker *w, const struct payment *p, struct payment *out)
{
	char key[40];

	snprintf(key, sizeof(key), "payment-%" PRId64, p->id);
	if (gateway_refund(w, key) < 0)
		return STORE_ERROR;
	enum store_status st = store_payment_refunded(w->db, p->id, out);
	if (st == STORE_OK) {
		count(w, "refunded");
		log_info("payment refunded", "payment", key);
	}
	return st;
}

void payments_refund(struct req *r)
{
	struct payment p, out;
	int64_t id;

	if (req_param_id_or_reply(r, "id", NULL, &id) < 0)
		return;
	enum store_status st = store_payment_get(r->w->db, id, 0, &p);
	if (st == STORE_NOT_FOUND) {
		reply_error(r, 404, NOT_FOUND);
		return;
	}
	if (st == STORE_OK)
		st = strcmp(p.status, "succeeded") == 0 ? refund(r->w, &p, &out) : STORE_CONFLICT;
	/* refund's NOT_FOUND: no longer succeeded, refunded meanwhile */
	if (st == STORE_OK)
		reply_json(r, 200, payment_json(&out));
	else if (st == STORE_ERROR)
		reply_error(r, 503, REFUND_DOWN);
	else
		reply_error(r, 409, NOT_REFUNDABLE);
}

/* Bookings asks for the refund of a cancelled confirmed booking. Nothing
 * succeeded (yet) is fine: a charge that succeeds later finds the booking
 * cancelled and is refunded then. */
void payments_internal_refund(struct req *r)
{
	struct json_object *body = req_json_or_reply(r), *o;
	struct field_errors e;
	struct payment p, out;
	int64_t booking_id;

	if (body == NULL)
		return;
	field_errors_init(&e);
	if (field_int64(body, PAYMENT_REFUND_BOOKING, 1, INT64_MAX, FIELD_REQUIRED, &booking_id,
	                &e) < 0) {
		reply_invalid(r, &e);
		return;
	}
	field_errors_release(&e);
	enum store_status st = store_payment_succeeded_for(r->w->db, booking_id, &p);
	if (st == STORE_OK)
		st = refund(r->w, &p, &out);
	if (st == STORE_ERROR) {
		reply_error(r, 503, REFUND_DOWN);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "booking_id", json_object_new_int64(booking_id));
	json_object_object_add(o, "refunded", json_object_new_boolean(st == STORE_OK));
	reply_json(r, 200, o);
}

/* ---- background: charge, then tell bookings ---- */

/* Charge one claimed payment, logging under the id of the request that
 * made it (its events carry that id on). */
static void process(struct worker *w, const struct payment *p)
{
	struct payment out;
	char key[40];

	log_set_request_id(p->request_id);
	snprintf(key, sizeof(key), "payment-%" PRId64, p->id);
	enum gateway_outcome g = gateway_charge(w, p->gateway_token, p->amount_cents, key);
	if (g == GATEWAY_UNAVAILABLE)
		log_warn("payment gateway unavailable; retrying later", "payment", key);
	else if (store_payment_settle(w->db, p, g == GATEWAY_APPROVED, &out) == STORE_OK) {
		count(w, out.status);
		log_info("payment processed", "payment", key, "status", out.status);
	}
	log_set_request_id(NULL);
}

/* The booking could not take the payment (its hold ended, it was
 * cancelled or it is gone): give the money back. */
static enum outbox_verdict judge(struct worker *w, const char *event, const char *path, int status,
                                 const struct buf *body)
{
	struct payment p, out;
	int64_t id;

	(void)body;
	size_t n = strlen(path), k = strlen(BOOKING_CONFIRM_SUFFIX);
	int confirm = n > k && strcmp(path + n - k, BOOKING_CONFIRM_SUFFIX) == 0;
	if (!confirm || (status != 404 && status != 409))
		return outbox_default_verdict(status);
	if (sscanf(event, STORE_CONFIRM_EVENT "%" SCNd64, &id) != 1 ||
	    store_payment_get(w->db, id, 0, &p) != STORE_OK)
		return OUTBOX_DONE;
	if (strcmp(p.status, "succeeded") != 0)
		return OUTBOX_DONE;
	log_info("booking refused the payment; refunding", "event", event);
	return refund(w, &p, &out) == STORE_ERROR ? OUTBOX_RETRY : OUTBOX_DONE;
}

void payments_tick(struct worker *w)
{
	static unsigned ticks;
	struct payment *rows = NULL;
	int n = 0;

	if (store_payment_claim(w->db, CLAIM_BATCH, &rows, &n) == STORE_OK)
		for (int i = 0; i < n; i++)
			process(w, &rows[i]);
	free(rows);
	outbox_relay(w, 50, judge);
	if (ticks++ % 300 == 0)
		idem_prune(w->db);
}

int payments_gauges(struct worker *w, struct buf *out)
{
	int64_t pending;
	double oldest;

	/* measured here, not in the tick child: a processor that hangs
	 * shows as a payment growing old */
	if (store_payment_backlog(w->db, &pending, &oldest) != STORE_OK)
		return -1;
	metrics_gauge(out, "payments_pending", "payments waiting to be charged", (double)pending);
	metrics_gauge(out, "payments_oldest_pending_seconds",
	              "age of the oldest pending payment (0: none)", oldest);
	return outbox_gauges(w, out);
}
