#define _POSIX_C_SOURCE 200809L

/* Pub/sub through the C callback: the three kinds, binary payloads, the item accessors,
 * calls from inside the callback (subscribe, free), and subscriptions that follow a
 * failover with one RESUBSCRIBED item. */
#include <pthread.h>
#include <string.h>

#include "check.h"

struct inbox {
  pthread_mutex_t lock;
  slotwise_pubsub *self; /* for the callback's own calls */
  int subscribed, unsubscribed, resubscribed, dropped, unknown;
  int messages[4];      /* per slotwise_pubsub_kind */
  int wrong_type_ok;    /* accessors that refused a field the item lacks */
  int resubscribed_sharded;
  uint64_t last_count;
  char last_channel[64], msg_channel[64], last_payload[64], last_pattern[64];
  size_t last_payload_len;
  /* Behaviours: subscribe "c:second" at the first message; free self at a message on it. */
  int subscribe_on_first;
  int free_on_second;
  int freed;
};

static void copy(char *dst, size_t cap, slotwise_status (*get)(const slotwise_pubsub_item *, const uint8_t **, size_t *),
                 const slotwise_pubsub_item *it, size_t *len) {
  const uint8_t *p = NULL;
  size_t n = 0;
  dst[0] = 0;
  if (get(it, &p, &n) == SLOTWISE_STATUS_OK) {
    if (len) *len = n;
    memcpy(dst, p, n < cap ? n : cap);
    dst[n < cap - 1 ? n : cap - 1] = 0;
  }
}

static void pubsub_cb(void *ud, const slotwise_pubsub_item *it) {
  struct inbox *in = ud;
  slotwise_pubsub_item_type ty = 0;
  slotwise_pubsub_kind kind = 0;
  uint64_t count = 0;
  const uint8_t *p = NULL;
  size_t n = 0;
  if (slotwise_pubsub_item_get_type(it, &ty) != SLOTWISE_STATUS_OK) return;
  int subscribe_now = 0, free_now = 0;
  pthread_mutex_lock(&in->lock);
  switch (ty) {
    case SLOTWISE_PUBSUB_ITEM_TYPE_MESSAGE:
      if (slotwise_pubsub_item_get_kind(it, &kind) == SLOTWISE_STATUS_OK && kind >= 1 && kind <= 3)
        in->messages[kind]++;
      copy(in->msg_channel, sizeof in->msg_channel, slotwise_pubsub_item_get_channel, it, NULL);
      copy(in->last_payload, sizeof in->last_payload, slotwise_pubsub_item_get_payload, it, &in->last_payload_len);
      if (kind == SLOTWISE_PUBSUB_KIND_PATTERN)
        copy(in->last_pattern, sizeof in->last_pattern, slotwise_pubsub_item_get_pattern, it, NULL);
      else if (slotwise_pubsub_item_get_pattern(it, &p, &n) == SLOTWISE_STATUS_WRONG_TYPE)
        in->wrong_type_ok++;
      if (slotwise_pubsub_item_get_count(it, &count) == SLOTWISE_STATUS_WRONG_TYPE) in->wrong_type_ok++;
      if (in->subscribe_on_first) {
        in->subscribe_on_first = 0;
        subscribe_now = 1;
      }
      if (in->free_on_second && strcmp(in->msg_channel, "c:second") == 0) {
        in->free_on_second = 0;
        free_now = 1;
      }
      break;
    case SLOTWISE_PUBSUB_ITEM_TYPE_SUBSCRIBED:
    case SLOTWISE_PUBSUB_ITEM_TYPE_UNSUBSCRIBED:
      if (ty == SLOTWISE_PUBSUB_ITEM_TYPE_SUBSCRIBED)
        in->subscribed++;
      else
        in->unsubscribed++;
      slotwise_pubsub_item_get_count(it, &in->last_count);
      copy(in->last_channel, sizeof in->last_channel, slotwise_pubsub_item_get_channel, it, NULL);
      if (slotwise_pubsub_item_get_payload(it, &p, &n) == SLOTWISE_STATUS_WRONG_TYPE) in->wrong_type_ok++;
      break;
    case SLOTWISE_PUBSUB_ITEM_TYPE_RESUBSCRIBED: {
      in->resubscribed++;
      uint64_t us = 0;
      slotwise_pubsub_item_get_count(it, &count);
      if (slotwise_pubsub_item_get_interrupted_us(it, &us) == SLOTWISE_STATUS_OK && us > 0) in->wrong_type_ok++;
      for (size_t i = 0; i < count; i++) {
        if (slotwise_pubsub_item_get_resubscribed(it, i, &kind, &p, &n) == SLOTWISE_STATUS_OK &&
            kind == SLOTWISE_PUBSUB_KIND_SHARDED && n > 0)
          in->resubscribed_sharded++;
      }
      /* Past the end: a clear refusal. */
      if (slotwise_pubsub_item_get_resubscribed(it, count, &kind, &p, &n) == SLOTWISE_STATUS_INVALID_ARGUMENT)
        in->wrong_type_ok++;
      break;
    }
    case SLOTWISE_PUBSUB_ITEM_TYPE_DROPPED:
      in->dropped++;
      break;
    default:
      in->unknown++;
  }
  slotwise_pubsub *self = in->self;
  pthread_mutex_unlock(&in->lock);
  /* Blocking calls of its own pub/sub, from its own thread (outside the lock). */
  if (subscribe_now) {
    const uint8_t *name = (const uint8_t *)"c:second";
    size_t len = 8;
    if (slotwise_pubsub_subscribe(self, SLOTWISE_PUBSUB_KIND_CHANNEL, 1, &name, &len) == SLOTWISE_STATUS_OK) {
      pthread_mutex_lock(&in->lock);
      in->wrong_type_ok++;
      pthread_mutex_unlock(&in->lock);
    }
  }
  if (free_now) {
    slotwise_pubsub_free(self);
    pthread_mutex_lock(&in->lock);
    in->freed = 1;
    pthread_mutex_unlock(&in->lock);
  }
}

/* Sets `ok` to whether `cond` (evaluated under the inbox lock) came to hold within the wait. */
#define WAIT_FOR(ok, in, cond)                                      \
  do {                                                              \
    double until_ = now_s() + (slow ? 60 : 10);                     \
    (ok) = 0;                                                       \
    while (!(ok) && now_s() < until_) {                             \
      pthread_mutex_lock(&(in)->lock);                              \
      (ok) = (cond);                                                \
      pthread_mutex_unlock(&(in)->lock);                            \
      if (!(ok)) sleep_ms(20);                                      \
    }                                                               \
  } while (0)

/* Checks that `cond` comes to hold (under the inbox lock) within the wait. */
#define CHECK_EVENTUALLY(in, cond) \
  do {                             \
    int ok_;                       \
    WAIT_FOR(ok_, in, cond);       \
    CHECK(ok_ && #cond);           \
  } while (0)

static slotwise_status subscribe1(slotwise_pubsub *ps, uint32_t kind, const char *name) {
  const uint8_t *p = (const uint8_t *)name;
  size_t n = strlen(name);
  return slotwise_pubsub_subscribe(ps, kind, 1, &p, &n);
}

static void publish(slotwise_client *c, const char *verb, const char *channel, const uint8_t *payload, size_t len) {
  const uint8_t *argv[3] = {(const uint8_t *)verb, (const uint8_t *)channel, payload};
  size_t argv_len[3] = {strlen(verb), strlen(channel), len};
  slotwise_reply *r = NULL;
  CHECK_STATUS(slotwise_command(c, 3, argv, argv_len, &r), SLOTWISE_STATUS_OK);
  slotwise_reply_free(r);
}

void test_pubsub(slotwise_client *c) {
  static struct inbox in = {.lock = PTHREAD_MUTEX_INITIALIZER};
  slotwise_pubsub *ps = NULL;
  const uint8_t *name = (const uint8_t *)"x";
  size_t len = 1;

  /* Wrong arguments: clear statuses, nothing created. */
  CHECK_STATUS(slotwise_pubsub_new(c, NULL, &in, &ps), SLOTWISE_STATUS_NULL_ARGUMENT);
  CHECK(ps == NULL);
  CHECK_STATUS(slotwise_pubsub_new(NULL, pubsub_cb, &in, &ps), SLOTWISE_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(slotwise_pubsub_new(c, pubsub_cb, &in, NULL), SLOTWISE_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(slotwise_pubsub_new(c, pubsub_cb, &in, &ps), SLOTWISE_STATUS_OK);
  if (!ps) return;
  in.self = ps;
  CHECK_STATUS(slotwise_pubsub_subscribe(ps, 7, 1, &name, &len), SLOTWISE_STATUS_INVALID_ARGUMENT);
  CHECK(strstr(last_error(), "slotwise_pubsub_kind") != NULL);
  CHECK_STATUS(slotwise_pubsub_subscribe(ps, SLOTWISE_PUBSUB_KIND_CHANNEL, 0, NULL, NULL),
               SLOTWISE_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(slotwise_pubsub_subscribe(ps, SLOTWISE_PUBSUB_KIND_CHANNEL, 1, NULL, &len),
               SLOTWISE_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(slotwise_pubsub_subscribe(NULL, SLOTWISE_PUBSUB_KIND_CHANNEL, 1, &name, &len),
               SLOTWISE_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(slotwise_pubsub_item_get_type(NULL, NULL), SLOTWISE_STATUS_NULL_ARGUMENT);
  slotwise_pubsub_free(NULL);

  /* The three kinds; each confirmation reaches the callback before subscribe returns. */
  CHECK_STATUS(subscribe1(ps, SLOTWISE_PUBSUB_KIND_CHANNEL, "c:news"), SLOTWISE_STATUS_OK);
  CHECK_STATUS(subscribe1(ps, SLOTWISE_PUBSUB_KIND_PATTERN, "c:ne*"), SLOTWISE_STATUS_OK);
  CHECK_STATUS(subscribe1(ps, SLOTWISE_PUBSUB_KIND_SHARDED, "c:orders"), SLOTWISE_STATUS_OK);
  size_t held = 0;
  CHECK_STATUS(slotwise_pubsub_subscription_count(ps, &held), SLOTWISE_STATUS_OK);
  CHECK(held == 3);
  CHECK_EVENTUALLY(&in, in.subscribed == 3 && in.last_count == 3);

  /* A binary payload (a NUL inside) through each kind. */
  static const uint8_t bin[5] = {'a', 0, 'b', 0xff, 'c'};
  in.subscribe_on_first = 1;
  publish(c, "PUBLISH", "c:news", bin, sizeof bin);
  CHECK_EVENTUALLY(&in, in.messages[SLOTWISE_PUBSUB_KIND_CHANNEL] == 1 && in.messages[SLOTWISE_PUBSUB_KIND_PATTERN] == 1);
  pthread_mutex_lock(&in.lock);
  CHECK(in.last_payload_len == sizeof bin && memcmp(in.last_payload, bin, sizeof bin) == 0);
  CHECK(strcmp(in.msg_channel, "c:news") == 0);
  CHECK(strcmp(in.last_pattern, "c:ne*") == 0);
  pthread_mutex_unlock(&in.lock);
  publish(c, "SPUBLISH", "c:orders", (const uint8_t *)"o1", 2);
  CHECK_EVENTUALLY(&in, in.messages[SLOTWISE_PUBSUB_KIND_SHARDED] == 1);
  pthread_mutex_lock(&in.lock);
  CHECK(strcmp(in.msg_channel, "c:orders") == 0 && strcmp(in.last_payload, "o1") == 0);
  pthread_mutex_unlock(&in.lock);

  /* The callback subscribed to "c:second" from its own thread. */
  CHECK_EVENTUALLY(&in, in.subscribed == 4);
  CHECK_STATUS(slotwise_pubsub_subscription_count(ps, &held), SLOTWISE_STATUS_OK);
  CHECK(held == 4);

  /* Unsubscribe every pattern (count 0): channel messages still come, pattern ones do not. */
  CHECK_STATUS(slotwise_pubsub_unsubscribe(ps, SLOTWISE_PUBSUB_KIND_PATTERN, 0, NULL, NULL), SLOTWISE_STATUS_OK);
  CHECK_EVENTUALLY(&in, in.unsubscribed == 1 && in.last_count == 3);
  publish(c, "PUBLISH", "c:news", (const uint8_t *)"two", 3);
  CHECK_EVENTUALLY(&in, in.messages[SLOTWISE_PUBSUB_KIND_CHANNEL] == 2);
  sleep_ms(100);
  pthread_mutex_lock(&in.lock);
  CHECK(in.messages[SLOTWISE_PUBSUB_KIND_PATTERN] == 1);
  CHECK(in.wrong_type_ok >= 6);
  CHECK(in.dropped == 0 && in.unknown == 0 && in.resubscribed == 0);
  pthread_mutex_unlock(&in.lock);

  /* The callback frees its own pub/sub; the client is untouched and works on. */
  in.free_on_second = 1;
  publish(c, "PUBLISH", "c:second", (const uint8_t *)"bye", 3);
  CHECK_EVENTUALLY(&in, in.freed == 1);
  slotwise_reply *r = NULL;
  CHECK_STATUS(RUN(c, &r, "PING"), SLOTWISE_STATUS_OK);
  slotwise_reply_free(r);

  /* Freed from another thread with subscriptions held and messages on the way. */
  static struct inbox in2 = {.lock = PTHREAD_MUTEX_INITIALIZER};
  slotwise_pubsub *ps2 = NULL;
  CHECK_STATUS(slotwise_pubsub_new(c, pubsub_cb, &in2, &ps2), SLOTWISE_STATUS_OK);
  if (!ps2) return;
  in2.self = ps2;
  CHECK_STATUS(subscribe1(ps2, SLOTWISE_PUBSUB_KIND_CHANNEL, "c:news"), SLOTWISE_STATUS_OK);
  for (int i = 0; i < 20; i++) publish(c, "PUBLISH", "c:news", (const uint8_t *)"m", 1);
  slotwise_pubsub_free(ps2);
  pthread_mutex_lock(&in2.lock);
  int seen = in2.messages[SLOTWISE_PUBSUB_KIND_CHANNEL];
  pthread_mutex_unlock(&in2.lock);
  sleep_ms(100);
  pthread_mutex_lock(&in2.lock);
  CHECK(in2.messages[SLOTWISE_PUBSUB_KIND_CHANNEL] == seen); /* nothing after free returned */
  pthread_mutex_unlock(&in2.lock);
}

/* A pub/sub holding a sharded channel on every shard ("{b}" slot 3300, "{c}" 7365, "{a}"
 * 15495: one per third of the slots) and a classic one, started before a failover: returns
 * it for test_pubsub_after_failover. */
static struct inbox fo = {.lock = PTHREAD_MUTEX_INITIALIZER};
static const char *const SHARDED[3] = {"{a}fo", "{b}fo", "{c}fo"};

slotwise_pubsub *test_pubsub_before_failover(slotwise_client *c) {
  slotwise_pubsub *ps = NULL;
  CHECK_STATUS(slotwise_pubsub_new(c, pubsub_cb, &fo, &ps), SLOTWISE_STATUS_OK);
  if (!ps) return NULL;
  fo.self = ps;
  const uint8_t *names[3];
  size_t lens[3];
  for (int i = 0; i < 3; i++) {
    names[i] = (const uint8_t *)SHARDED[i];
    lens[i] = strlen(SHARDED[i]);
  }
  CHECK_STATUS(slotwise_pubsub_subscribe(ps, SLOTWISE_PUBSUB_KIND_SHARDED, 3, names, lens), SLOTWISE_STATUS_OK);
  CHECK_STATUS(subscribe1(ps, SLOTWISE_PUBSUB_KIND_CHANNEL, "fo:news"), SLOTWISE_STATUS_OK);
  return ps;
}

/* After the failover: one RESUBSCRIBED naming the sharded channel of the failed-over shard,
 * then every channel delivers again. */
void test_pubsub_after_failover(slotwise_client *c, slotwise_pubsub *ps) {
  if (!ps) return;
  CHECK_EVENTUALLY(&fo, fo.resubscribed >= 1 && fo.resubscribed_sharded >= 1);
  double until = now_s() + (slow ? 60 : 15);
  int all = 0;
  while (!all && now_s() < until) {
    pthread_mutex_lock(&fo.lock);
    int before = fo.messages[SLOTWISE_PUBSUB_KIND_SHARDED] + fo.messages[SLOTWISE_PUBSUB_KIND_CHANNEL];
    pthread_mutex_unlock(&fo.lock);
    for (int i = 0; i < 3; i++) publish(c, "SPUBLISH", SHARDED[i], (const uint8_t *)"after", 5);
    publish(c, "PUBLISH", "fo:news", (const uint8_t *)"after", 5);
    WAIT_FOR(all, &fo,
             fo.messages[SLOTWISE_PUBSUB_KIND_SHARDED] + fo.messages[SLOTWISE_PUBSUB_KIND_CHANNEL] >= before + 4);
  }
  CHECK(all);
  pthread_mutex_lock(&fo.lock);
  /* One interruption per connection that was cut, never one per retry. */
  CHECK(fo.resubscribed <= 2);
  CHECK(fo.dropped == 0 && fo.unknown == 0);
  pthread_mutex_unlock(&fo.lock);
  slotwise_pubsub_free(ps);
}
