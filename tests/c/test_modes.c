#define _POSIX_C_SOURCE 200809L

/* Remap and resolver callbacks, standalone and Sentinel modes, events through a failover. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

struct remap_state {
  atomic_int remaps;
  atomic_int resolves;
  const char *seeds;
};

static void remap_cb(void *ud, const uint8_t *announced, size_t len, slotwise_address_list *out) {
  struct remap_state *st = ud;
  atomic_fetch_add(&st->remaps, 1);
  /* Rewrite to the same address: exercises the list without changing where we go. */
  slotwise_address_list_push(out, announced, len);
}

static bool resolve_cb(void *ud, const uint8_t *seed, size_t len, slotwise_address_list *out) {
  struct remap_state *st = ud;
  atomic_fetch_add(&st->resolves, 1);
  if (!(len == 19 && memcmp(seed, "seeds.invalid:16379", 19) == 0)) return false;
  const char *s = st->seeds;
  while (s && *s) {
    const char *end = strchr(s, ',');
    size_t n = end ? (size_t)(end - s) : strlen(s);
    slotwise_address_list_push(out, (const uint8_t *)s, n);
    s = end ? end + 1 : NULL;
  }
  /* A bad address is refused and not added. */
  return slotwise_address_list_push(out, (const uint8_t *)"bad", 3) == SLOTWISE_STATUS_INVALID_ARGUMENT;
}

void test_remap_and_resolver(const char *seeds) {
  static struct remap_state st;
  st.seeds = seeds;
  slotwise_options *o = NULL;
  slotwise_client *c = NULL;
  slotwise_reply *r = NULL;
  CHECK_STATUS(slotwise_options_new(&o), SLOTWISE_STATUS_OK);
  CHECK_STATUS(slotwise_options_add_seed(o, (const uint8_t *)"seeds.invalid:16379", 19), SLOTWISE_STATUS_OK);
  CHECK_STATUS(slotwise_options_set_resolver_callback(o, resolve_cb, &st), SLOTWISE_STATUS_OK);
  CHECK_STATUS(slotwise_options_set_remap_callback(o, remap_cb, &st), SLOTWISE_STATUS_OK);
  CHECK_STATUS(slotwise_options_add_address_map(o, (const uint8_t *)"announced.invalid:1", 19,
                                                (const uint8_t *)"127.0.0.1:1", 11),
               SLOTWISE_STATUS_OK);
  CHECK_STATUS(slotwise_options_set_read_from(o, SLOTWISE_READ_FROM_REPLICAS_ROUND_ROBIN), SLOTWISE_STATUS_OK);
  CHECK_STATUS(slotwise_options_set_client_name(o, (const uint8_t *)"c-tests", 7), SLOTWISE_STATUS_OK);
  CHECK_STATUS(slotwise_options_set_protocol(o, 2), SLOTWISE_STATUS_OK);
  if (slow) slotwise_options_set_request_timeout_ms(o, 30000);
  CHECK_STATUS(slotwise_client_cluster(o, &c), SLOTWISE_STATUS_OK);
  slotwise_options_free(o); /* the client keeps what it needs */
  if (!c) return;
  CHECK(atomic_load(&st.resolves) >= 1);
  CHECK(atomic_load(&st.remaps) >= 1);
  CHECK_STATUS(RUN(c, &r, "SET", "remap:k", "v"), SLOTWISE_STATUS_OK);
  slotwise_reply_free(r);
  /* RESP2: a hash is a flat array. */
  CHECK_STATUS(RUN(c, &r, "HSET", "remap:h", "f", "v"), SLOTWISE_STATUS_OK);
  slotwise_reply_free(r);
  CHECK_STATUS(RUN(c, &r, "HGETALL", "remap:h"), SLOTWISE_STATUS_OK);
  CHECK(type_of(r) == SLOTWISE_REPLY_TYPE_ARRAY);
  slotwise_reply_free(r);
  slotwise_client_free(c);
}

void test_standalone(const char *addr) {
  slotwise_options *o = options_with_seeds(addr);
  slotwise_client *c = NULL;
  slotwise_reply *r = NULL;
  uint64_t version = 0;
  CHECK_STATUS(slotwise_client_standalone(o, &c), SLOTWISE_STATUS_OK);
  slotwise_options_free(o);
  if (!c) return;
  CHECK_STATUS(RUN(c, &r, "PING"), SLOTWISE_STATUS_OK);
  CHECK(type_of(r) == SLOTWISE_REPLY_TYPE_SIMPLE_STRING && bytes_eq(r, "PONG"));
  slotwise_reply_free(r);
  CHECK_STATUS(slotwise_client_topology_version(c, &version), SLOTWISE_STATUS_OK);
  CHECK_STATUS(slotwise_client_refresh_topology(c), SLOTWISE_STATUS_OK);
  CHECK_STATUS(slotwise_client_close(c), SLOTWISE_STATUS_OK);
  CHECK_STATUS(RUN(c, &r, "PING"), SLOTWISE_STATUS_CLOSED);
  slotwise_client_free(c);
}

/* What a Sentinel client's event callback saw of one sentinel. */
struct sentinel_events {
  pthread_mutex_t lock;
  const char *victim;
  int lost, regained;
};

static void sentinel_event_cb(void *ud, const slotwise_event *ev) {
  struct sentinel_events *st = ud;
  slotwise_event_type t = SLOTWISE_EVENT_TYPE_UNKNOWN;
  const uint8_t *p = NULL, *why = NULL;
  size_t n = 0, why_len = 0;
  char addr[64] = {0};
  slotwise_event_get_type(ev, &t);
  if (slotwise_event_get_address(ev, &p, &n) == SLOTWISE_STATUS_OK) copy_bytes(addr, sizeof addr, p, n);
  pthread_mutex_lock(&st->lock);
  if (strcmp(addr, st->victim) == 0) {
    if (t == SLOTWISE_EVENT_TYPE_SENTINEL_LOST && slotwise_event_get_reason(ev, &why, &why_len) == SLOTWISE_STATUS_OK)
      st->lost++;
    if (t == SLOTWISE_EVENT_TYPE_SENTINEL_REGAINED) st->regained++;
  }
  pthread_mutex_unlock(&st->lock);
}

/* Waits until `*counter` (under `lock`) is positive; false on timeout. */
static int wait_positive(pthread_mutex_t *lock, const int *counter, double seconds) {
  double deadline = now_s() + seconds;
  for (;;) {
    pthread_mutex_lock(lock);
    int v = *counter;
    pthread_mutex_unlock(lock);
    if (v > 0) return 1;
    if (now_s() > deadline) return 0;
    sleep_ms(50);
  }
}

void test_sentinel(const char *sentinels, const char *service, const char *victim, const char *kill_cmd,
                   const char *restart_cmd) {
  static struct sentinel_events st = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0};
  slotwise_options *o = options_with_seeds(sentinels);
  slotwise_client *c = NULL;
  slotwise_reply *r = NULL;
  CHECK_STATUS(slotwise_options_set_service_name(o, (const uint8_t *)service, strlen(service)), SLOTWISE_STATUS_OK);
  CHECK_STATUS(slotwise_client_sentinel(o, &c), SLOTWISE_STATUS_OK);
  if (c) {
    CHECK_STATUS(RUN(c, &r, "SET", "sentinel:k", "v"), SLOTWISE_STATUS_OK);
    slotwise_reply_free(r);
    CHECK_STATUS(RUN(c, &r, "GET", "sentinel:k"), SLOTWISE_STATUS_OK);
    CHECK(bytes_eq(r, "v"));
    slotwise_reply_free(r);
    if (victim && kill_cmd && restart_cmd) {
      /* One sentinel goes away and comes back: both are announced, with its address. */
      st.victim = victim;
      CHECK_STATUS(slotwise_client_set_event_callback(c, sentinel_event_cb, &st), SLOTWISE_STATUS_OK);
      CHECK(system(kill_cmd) == 0);
      CHECK(wait_positive(&st.lock, &st.lost, slow ? 60 : 15));
      CHECK_STATUS(RUN(c, &r, "GET", "sentinel:k"), SLOTWISE_STATUS_OK); /* the others suffice */
      slotwise_reply_free(r);
      CHECK(system(restart_cmd) == 0);
      CHECK(wait_positive(&st.lock, &st.regained, slow ? 60 : 15));
    }
    slotwise_client_free(c);
  }
  /* A service the sentinels do not know. */
  slotwise_options_set_service_name(o, (const uint8_t *)"nosuch", 6);
  slotwise_options_set_request_timeout_ms(o, slow ? 10000 : 2000);
  c = NULL;
  slotwise_status s = slotwise_client_sentinel(o, &c);
  CHECK(s != SLOTWISE_STATUS_OK && c == NULL);
  slotwise_client_free(c);
  slotwise_options_free(o);
}

struct events {
  pthread_mutex_t lock;
  slotwise_client *client;
  int topology_changes, failovers, other, wrong_type_ok, blocking_ok;
  char old_primary[64], new_primary[64];
};


static void event_cb(void *ud, const slotwise_event *ev) {
  struct events *st = ud;
  slotwise_event_type t = SLOTWISE_EVENT_TYPE_UNKNOWN;
  const uint8_t *p = NULL;
  size_t n = 0;
  uint64_t version = 0;
  slotwise_event_get_type(ev, &t);
  pthread_mutex_lock(&st->lock);
  switch (t) {
    case SLOTWISE_EVENT_TYPE_TOPOLOGY_CHANGED:
      if (slotwise_event_get_topology_version(ev, &version) == SLOTWISE_STATUS_OK && version > 0) st->topology_changes++;
      if (slotwise_event_get_address(ev, &p, &n) == SLOTWISE_STATUS_WRONG_TYPE) st->wrong_type_ok++;
      break;
    case SLOTWISE_EVENT_TYPE_FAILOVER:
      st->failovers++;
      if (slotwise_event_get_address(ev, &p, &n) == SLOTWISE_STATUS_OK) copy_bytes(st->old_primary, sizeof st->old_primary, p, n);
      if (slotwise_event_get_new_primary(ev, &p, &n) == SLOTWISE_STATUS_OK) copy_bytes(st->new_primary, sizeof st->new_primary, p, n);
      break;
    default:
      st->other++;
      break;
  }
  pthread_mutex_unlock(&st->lock);
  /* The event thread is not a runtime thread: blocking calls are allowed here. */
  slotwise_reply *r = NULL;
  if (RUN(st->client, &r, "PING") == SLOTWISE_STATUS_OK) {
    pthread_mutex_lock(&st->lock);
    st->blocking_ok++;
    pthread_mutex_unlock(&st->lock);
  }
  slotwise_reply_free(r);
}

void test_failover_events(const char *seeds, const char *replica, const char *old_primary) {
  static struct events st = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0, 0, 0, 0, {0}, {0}};
  slotwise_options *o = options_with_seeds(seeds);
  slotwise_client *c = NULL;
  slotwise_reply *r = NULL;
  slotwise_options_set_refresh_interval_ms(o, 1000);
  CHECK_STATUS(slotwise_client_cluster(o, &c), SLOTWISE_STATUS_OK);
  slotwise_options_free(o);
  if (!c) return;
  st.client = c;
  CHECK_STATUS(slotwise_client_set_event_callback(c, event_cb, &st), SLOTWISE_STATUS_OK);
  /* Replacing the callback is fine too (the old one is stopped first). */
  CHECK_STATUS(slotwise_client_set_event_callback(c, event_cb, &st), SLOTWISE_STATUS_OK);
  uint64_t v0 = 0, v1 = 0;
  CHECK_STATUS(slotwise_client_topology_version(c, &v0), SLOTWISE_STATUS_OK);
  slotwise_pubsub *ps = test_pubsub_before_failover(c);

  char host[64], cmd[256];
  const char *colon = strrchr(replica, ':');
  copy_bytes(host, sizeof host, (const uint8_t *)replica, (size_t)(colon - replica));
  snprintf(cmd, sizeof cmd, "redis-cli -h %s -p %s CLUSTER FAILOVER >/dev/null", host, colon + 1);
  CHECK(system(cmd) == 0);

  /* Writes to every shard meanwhile: the demoted primary's MOVED also leads to the news. */
  double deadline = now_s() + (slow ? 90 : 30);
  int seen = 0;
  int k = 0;
  while (!seen && now_s() < deadline) {
    char key[32];
    snprintf(key, sizeof key, "fo:%d", k++ % 64);
    RUN(c, &r, "SET", key, "v");
    slotwise_reply_free(r);
    r = NULL;
    pthread_mutex_lock(&st.lock);
    seen = st.failovers > 0 && st.topology_changes > 0;
    pthread_mutex_unlock(&st.lock);
    if (!seen) sleep_ms(50);
  }
  pthread_mutex_lock(&st.lock);
  CHECK(st.failovers >= 1);
  CHECK(st.topology_changes >= 1);
  CHECK(st.wrong_type_ok >= 1);
  CHECK(strcmp(st.new_primary, replica) == 0);
  CHECK(strcmp(st.old_primary, old_primary) == 0);
  if (strcmp(st.new_primary, replica) != 0 || strcmp(st.old_primary, old_primary) != 0) {
    fprintf(stderr, "  failover event: %s -> %s, expected %s -> %s\n", st.old_primary, st.new_primary,
            old_primary, replica);
  }
  pthread_mutex_unlock(&st.lock);
  CHECK_STATUS(slotwise_client_topology_version(c, &v1), SLOTWISE_STATUS_OK);
  CHECK(v1 > v0);
  /* The client works on through the new primary. */
  CHECK_STATUS(RUN(c, &r, "SET", "fo:after", "ok"), SLOTWISE_STATUS_OK);
  slotwise_reply_free(r);
  test_pubsub_after_failover(c, ps);
  CHECK_STATUS(slotwise_client_set_event_callback(c, NULL, NULL), SLOTWISE_STATUS_OK);
  pthread_mutex_lock(&st.lock);
  CHECK(st.blocking_ok >= 1);
  pthread_mutex_unlock(&st.lock);
  /* Set again and left set: slotwise_client_free stops it. */
  CHECK_STATUS(slotwise_client_set_event_callback(c, event_cb, &st), SLOTWISE_STATUS_OK);
  slotwise_client_free(c);
}
