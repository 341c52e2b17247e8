/*
 * Shared by the C tests of libslotwise: check macros, counters and small helpers.
 */
#ifndef SLOTWISE_TEST_CHECK_H
#define SLOTWISE_TEST_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "slotwise.h"

extern int passed, failed;
extern int slow; /* under valgrind: longer waits and timeouts */

#define CHECK(cond)                                                                  \
  do {                                                                               \
    if (cond) {                                                                      \
      passed++;                                                                      \
    } else {                                                                         \
      failed++;                                                                      \
      fprintf(stderr, "FAIL %s:%d: %s (last error: %s)\n", __FILE__, __LINE__, #cond, \
              last_error());                                                         \
    }                                                                                \
  } while (0)

/* Checks that `call` returns `expected`, printing both names and the message if not. */
#define CHECK_STATUS(call, expected)                                                    \
  do {                                                                                  \
    slotwise_status got_ = (call);                                                      \
    if (got_ == (expected)) {                                                           \
      passed++;                                                                         \
    } else {                                                                            \
      failed++;                                                                         \
      fprintf(stderr, "FAIL %s:%d: %s returned %s, expected %s (last error: %s)\n",     \
              __FILE__, __LINE__, #call, slotwise_status_name(got_),                    \
              slotwise_status_name(expected), last_error());                            \
    }                                                                                   \
  } while (0)

/* Runs a command given as C strings: RUN(client, &reply, "SET", "k", "v"). */
#define RUN(client, reply, ...) run_argv((client), (reply), (const char *const[]){__VA_ARGS__, NULL})

const char *last_error(void);
double now_s(void);
void sleep_ms(long ms);
slotwise_status run_argv(slotwise_client *c, slotwise_reply **reply, const char *const *args);
int bytes_eq(const slotwise_reply *reply, const char *want);
int bytes_contain(const slotwise_reply *reply, const char *want);
slotwise_reply_type type_of(const slotwise_reply *reply);
void copy_bytes(char *dst, size_t cap, const uint8_t *p, size_t n);
slotwise_options *options_with_seeds(const char *list);
slotwise_client *connect_cluster(const char *seeds);

/* test_arguments.c: no server needed */
void test_version(void);
void test_null_arguments(void);
void test_wrong_options(void);
void test_unreachable_seeds(void);
/* test_commands.c */
void test_bad_commands(slotwise_client *c);
void test_reply_types(slotwise_client *c);
void test_cross_slot(slotwise_client *c);
void test_pipeline(slotwise_client *c);
void test_health_check(slotwise_client *c);
/* test_transactions.c */
void test_transactions(slotwise_client *c);
void test_scripts(slotwise_client *c);
/* test_async.c */
#define ASYNC_THREADS 4
void test_async_threads(slotwise_client *c);
void test_async_then_free(const char *seeds);
/* test_modes.c */
void test_remap_and_resolver(const char *seeds);
void test_standalone(const char *addr);
void test_sentinel(const char *sentinels, const char *service, const char *victim, const char *kill_cmd,
                   const char *restart_cmd);
void test_failover_events(const char *seeds, const char *replica, const char *old_primary);
/* test_pubsub.c */
void test_pubsub(slotwise_client *c);
slotwise_pubsub *test_pubsub_before_failover(slotwise_client *c);
void test_pubsub_after_failover(slotwise_client *c, slotwise_pubsub *ps);
/* test_tls.c */
void test_tls(const char *addr, const char *ca, const char *untrusted_ca, const char *cert, const char *key,
              const char *password, const char *kill_cmd);

#endif
