#define _POSIX_C_SOURCE 200809L

/* The callback API: many commands in flight from several threads, and a client freed with
 * commands in flight. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define ASYNC_PER_THREAD 250

struct async_state {
  slotwise_client *client;
  atomic_int done;
  atomic_int ok;
  atomic_int on_submitter_thread;
  atomic_int blocking_refused;
  atomic_int chained_done;
  pthread_t submitters[ASYNC_THREADS];
};

static void chained_cb(void *ud, slotwise_status status, slotwise_reply *reply) {
  struct async_state *st = ud;
  if (status == SLOTWISE_STATUS_OK) atomic_fetch_add(&st->chained_done, 1);
  slotwise_reply_free(reply);
}

static void async_cb(void *ud, slotwise_status status, slotwise_reply *reply) {
  struct async_state *st = ud;
  int64_t v = 0;
  if (status == SLOTWISE_STATUS_OK && slotwise_reply_get_integer(reply, &v) == SLOTWISE_STATUS_OK) {
    atomic_fetch_add(&st->ok, 1);
  }
  for (int j = 0; j < ASYNC_THREADS; j++) {
    if (pthread_equal(pthread_self(), st->submitters[j])) atomic_fetch_add(&st->on_submitter_thread, 1);
  }
  if (v == 1) {
    /* The first reply per counter: a blocking call here is refused, a chained async call works. */
    slotwise_reply *r = NULL;
    if (RUN(st->client, &r, "PING") == SLOTWISE_STATUS_INVALID_ARGUMENT) atomic_fetch_add(&st->blocking_refused, 1);
    const uint8_t *argv[1] = {(const uint8_t *)"PING"};
    size_t lens[1] = {4};
    if (slotwise_command_async(st->client, 1, argv, lens, chained_cb, st) != SLOTWISE_STATUS_OK) {
      atomic_fetch_add(&st->chained_done, -1000);
    }
  }
  slotwise_reply_free(reply);
  atomic_fetch_add(&st->done, 1);
}

struct submitter {
  struct async_state *st;
  int index;
  int refused;
};

static void *submit(void *arg) {
  struct submitter *s = arg;
  char key[32];
  snprintf(key, sizeof key, "async:counter%d", s->index);
  const uint8_t *argv[2] = {(const uint8_t *)"INCR", (const uint8_t *)key};
  size_t lens[2] = {4, strlen(key)};
  for (int j = 0; j < ASYNC_PER_THREAD; j++) {
    if (slotwise_command_async(s->st->client, 2, argv, lens, async_cb, s->st) != SLOTWISE_STATUS_OK) s->refused++;
  }
  return NULL;
}

void test_async_threads(slotwise_client *c) {
  static struct async_state st; /* outlives every callback */
  struct submitter subs[ASYNC_THREADS];
  slotwise_reply *r = NULL;
  int64_t v = 0;
  char key[32];
  st.client = c;
  for (int j = 0; j < ASYNC_THREADS; j++) {
    snprintf(key, sizeof key, "async:counter%d", j);
    RUN(c, &r, "DEL", key);
    slotwise_reply_free(r);
  }
  for (int j = 0; j < ASYNC_THREADS; j++) {
    subs[j] = (struct submitter){&st, j, 0};
    pthread_create(&st.submitters[j], NULL, submit, &subs[j]);
  }
  for (int j = 0; j < ASYNC_THREADS; j++) pthread_join(st.submitters[j], NULL);
  const int total = ASYNC_THREADS * ASYNC_PER_THREAD;
  double deadline = now_s() + (slow ? 120 : 30);
  while ((atomic_load(&st.done) < total || atomic_load(&st.chained_done) < ASYNC_THREADS) && now_s() < deadline) {
    sleep_ms(10);
  }
  for (int j = 0; j < ASYNC_THREADS; j++) CHECK(subs[j].refused == 0);
  CHECK(atomic_load(&st.done) == total);
  CHECK(atomic_load(&st.ok) == total);
  CHECK(atomic_load(&st.on_submitter_thread) == 0);
  CHECK(atomic_load(&st.blocking_refused) == ASYNC_THREADS);
  CHECK(atomic_load(&st.chained_done) == ASYNC_THREADS);
  for (int j = 0; j < ASYNC_THREADS; j++) {
    snprintf(key, sizeof key, "async:counter%d", j);
    CHECK_STATUS(RUN(c, &r, "GET", key), SLOTWISE_STATUS_OK);
    const uint8_t *p = NULL;
    size_t n = 0;
    char buf[32] = {0};
    if (slotwise_reply_get_bytes(r, &p, &n) == SLOTWISE_STATUS_OK && n < sizeof buf) memcpy(buf, p, n);
    v = atoll(buf);
    CHECK(v == ASYNC_PER_THREAD);
    slotwise_reply_free(r);
  }
  /* A missing callback is refused before anything is sent. */
  const uint8_t *argv[1] = {(const uint8_t *)"PING"};
  size_t lens[1] = {4};
  CHECK_STATUS(slotwise_command_async(c, 1, argv, lens, NULL, NULL), SLOTWISE_STATUS_NULL_ARGUMENT);
}

/* Callbacks still come exactly once, with a reply exactly when the status is OK, when the
 * client is freed with commands in flight. Which failure a command sees depends on where it
 * was: CLOSED before it was sent, IO (may have run) when its connection closed under it. */
static atomic_int freed_done, freed_bad;
static void freed_cb(void *ud, slotwise_status status, slotwise_reply *reply) {
  (void)ud;
  if ((status == SLOTWISE_STATUS_OK) != (reply != NULL)) atomic_fetch_add(&freed_bad, 1);
  if (!(status == SLOTWISE_STATUS_OK || status == SLOTWISE_STATUS_CLOSED ||
        status == SLOTWISE_STATUS_IO)) {
    fprintf(stderr, "  async after free: unexpected %s: %s\n", slotwise_status_name(status), last_error());
    atomic_fetch_add(&freed_bad, 1);
  }
  slotwise_reply_free(reply);
  atomic_fetch_add(&freed_done, 1);
}

void test_async_then_free(const char *seeds) {
  slotwise_client *c = connect_cluster(seeds);
  if (!c) return;
  const uint8_t *argv[2] = {(const uint8_t *)"INCR", (const uint8_t *)"async:freed"};
  size_t lens[2] = {4, 11};
  int queued = 0;
  for (int j = 0; j < 100; j++) {
    if (slotwise_command_async(c, 2, argv, lens, freed_cb, NULL) == SLOTWISE_STATUS_OK) queued++;
  }
  slotwise_client_free(c);
  double deadline = now_s() + (slow ? 60 : 15);
  while (atomic_load(&freed_done) < queued && now_s() < deadline) sleep_ms(10);
  CHECK(queued == 100);
  CHECK(atomic_load(&freed_done) == queued);
  CHECK(atomic_load(&freed_bad) == 0);
}
