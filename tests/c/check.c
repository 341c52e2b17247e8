#define _POSIX_C_SOURCE 200809L

/* Counters and helpers shared by the C tests (see check.h). */
#include "check.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

int passed, failed;
int slow;

const char *last_error(void) {
  static _Thread_local char buf[512];
  size_t n = 0;
  slotwise_last_error_message(buf, sizeof buf, &n);
  return buf;
}

double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Runs a command given as a NULL-terminated list of C strings (see RUN). */
slotwise_status run_argv(slotwise_client *c, slotwise_reply **reply,
                                const char *const *args) {
  const uint8_t *argv[64];
  size_t lens[64];
  size_t argc = 0;
  for (; args[argc] != NULL && argc < 64; argc++) {
    argv[argc] = (const uint8_t *)args[argc];
    lens[argc] = strlen(args[argc]);
  }
  return slotwise_command(c, argc, argv, lens, reply);
}

/* True when `reply` is a string-like reply holding exactly `want`. */
int bytes_eq(const slotwise_reply *reply, const char *want) {
  const uint8_t *p = NULL;
  size_t n = 0;
  if (slotwise_reply_get_bytes(reply, &p, &n) != SLOTWISE_STATUS_OK) return 0;
  return n == strlen(want) && memcmp(p, want, n) == 0;
}

/* True when `reply` is a string-like reply whose bytes contain `want`. */
int bytes_contain(const slotwise_reply *reply, const char *want) {
  const uint8_t *p = NULL;
  size_t n = 0, w = strlen(want);
  if (slotwise_reply_get_bytes(reply, &p, &n) != SLOTWISE_STATUS_OK) return 0;
  for (size_t i = 0; i + w <= n; i++) {
    if (memcmp(p + i, want, w) == 0) return 1;
  }
  return 0;
}

slotwise_reply_type type_of(const slotwise_reply *reply) {
  slotwise_reply_type t = SLOTWISE_REPLY_TYPE_UNKNOWN;
  slotwise_reply_get_type(reply, &t);
  return t;
}

/* Options with every seed of a comma-separated list. */
slotwise_options *options_with_seeds(const char *list) {
  slotwise_options *o = NULL;
  if (slotwise_options_new(&o) != SLOTWISE_STATUS_OK) return NULL;
  const char *s = list;
  while (s && *s) {
    const char *end = strchr(s, ',');
    size_t n = end ? (size_t)(end - s) : strlen(s);
    if (slotwise_options_add_seed(o, (const uint8_t *)s, n) != SLOTWISE_STATUS_OK) {
      fprintf(stderr, "bad seed in %s: %s\n", list, last_error());
    }
    s = end ? end + 1 : NULL;
  }
  slotwise_options_set_request_timeout_ms(o, slow ? 30000 : 10000);
  if (slow) slotwise_options_set_connect_timeout_ms(o, 5000);
  return o;
}

slotwise_client *connect_cluster(const char *seeds) {
  slotwise_options *o = options_with_seeds(seeds);
  slotwise_client *c = NULL;
  CHECK_STATUS(slotwise_client_cluster(o, &c), SLOTWISE_STATUS_OK);
  slotwise_options_free(o);
  return c;
}

void copy_bytes(char *dst, size_t cap, const uint8_t *p, size_t n) {
  if (n >= cap) n = cap - 1;
  memcpy(dst, p, n);
  dst[n] = '\0';
}
