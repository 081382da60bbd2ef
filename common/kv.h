/* kv.h - one Redis connection per process (hiredis 0.14). Reconnects on
 * the next call after a failure; every call has a short timeout, so a
 * Redis that is down makes calls fail fast, never hang. */
#ifndef FO_KV_H
#define FO_KV_H

#include <stddef.h>

struct kv;

struct kv_url {
	char host[128];
	int port;
	char password[128];
	int db;
};

/* Parse redis://[:password@]host[:port][/db]: 0 or -1. */
int kv_parse_url(const char *url, struct kv_url *out);

/* A handle for url (lazy connect). NULL when url does not parse. */
struct kv *kv_new(const char *url, int timeout_ms);
void kv_free(struct kv *k);

/* 0 when PING answers PONG, else -1. */
int kv_ping(struct kv *k);
/* INCR key; on the first increment set its expiry to ttl seconds.
 * 0 with *value, or -1. */
int kv_incr_window(struct kv *k, const char *key, int ttl, long long *value);
/* GET key as an integer: 0 with *value (0 when absent), or -1. */
int kv_get_int(struct kv *k, const char *key, long long *value);
/* Seconds until key expires: 0 with *ttl (-2 absent, -1 no expiry), or -1. */
int kv_ttl(struct kv *k, const char *key, long long *ttl);
/* DEL key: 0 or -1. */
int kv_del(struct kv *k, const char *key);
/* GET key into out (size outlen): 1 found, 0 absent, -1 error/too long. */
int kv_get(struct kv *k, const char *key, char *out, size_t outlen);
/* SET key value, with expiry ms when ms > 0; only if absent when nx.
 * 1 set, 0 not set (nx and present), -1 error. */
int kv_set(struct kv *k, const char *key, const char *value, size_t len, long long ms, int nx);

/* SET keys[i] values[i] PX ms for n keys, pipelined in one round trip
 * (a page of counts written at once): 0 when every SET was taken, or -1. */
int kv_set_many(struct kv *k, const char *const *keys, const char *const *values, int n,
                long long ms);
/* DEL del_key and SET set_key value PX ms, atomically and in one round
 * trip (a change that drops one cached answer and marks another): 0 or -1. */
int kv_del_set(struct kv *k, const char *del_key, const char *set_key, const char *value,
               long long ms);

/* INCR key: 0 with *value, or -1. */
int kv_incr(struct kv *k, const char *key, long long *value);
/* SADD / SREM one member: 0 or -1. */
int kv_sadd(struct kv *k, const char *key, const char *member);
int kv_srem(struct kv *k, const char *key, const char *member);
/* SADD member only when set key exists (a missing set is rebuilt whole
 * by its owner, never started half-empty): 0 or -1. */
int kv_sadd_existing(struct kv *k, const char *key, const char *member);
/* SCARD of n keys in one round trip: 0 with out[i] (0 when absent), or -1. */
int kv_scard_many(struct kv *k, const char *const *keys, int n, long long *out);
/* MGET of n keys in one round trip: 0 with out[i] (malloc'd, NULL when
 * the key is absent or not a string), or -1 on error (out all NULL). */
int kv_mget(struct kv *k, const char *const *keys, int n, char **out);
/* Short locks on n keys (1 to 16) in one round trip, all or none: SET
 * key owner PX ms NX each, except that a lock which would outlive ms
 * (longer expiry or none: no holder of such a lock set it) is overruled
 * and taken (logged). 1 every key taken; 0 when another holds one of
 * them, with busy[i] set for each such key and none of ours kept; -1
 * error. */
int kv_lock_all(struct kv *k, const char *const *keys, int n, const char *owner, long long ms,
                int *busy);
/* DEL each of n keys (1 to 16) whose value equals owner
 * (compare-and-delete), in one round trip: the number deleted, or -1. */
int kv_del_if_all(struct kv *k, const char *const *keys, int n, const char *owner);
/* The server's run_id (INFO server), which changes whenever Redis
 * restarts: 0 with out (size >= 48), or -1. */
int kv_run_id(struct kv *k, char *out, size_t outlen);
/* DEL every key matching pattern (SCAN, so Redis never blocks on it):
 * 0 with *n deleted, or -1. */
int kv_del_match(struct kv *k, const char *pattern, long long *n);
/* Replace set key with members (plus expiry ttl seconds when > 0), in one
 * MULTI/EXEC so readers never see it half-built: 0 or -1. */
int kv_set_replace(struct kv *k, const char *key, const char *const *members, int n, int ttl);

#endif
