/*
 * C tests of libslotwise against real servers, started by tests/c/run.py (the harness):
 *
 *   SLOTWISE_TEST_SEEDS       cluster seeds, "host:port,host:port,..."
 *   SLOTWISE_TEST_REPLICA     a replica to promote with CLUSTER FAILOVER ("host:port")
 *   SLOTWISE_TEST_REPLICA_OF  its primary ("host:port")
 *   SLOTWISE_TEST_SENTINELS   sentinels of a Sentinel deployment (optional)
 *   SLOTWISE_TEST_SERVICE     its service name
 *   SLOTWISE_TEST_SLOW        set under valgrind: longer waits and timeouts
 *
 * Prints one line per failed check and closes with "N passed, M failed"; exits 1 on failure.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "slotwise.h"

static int passed, failed;
static int slow; /* under valgrind */

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

static const char *last_error(void) {
  static _Thread_local char buf[512];
  size_t n = 0;
  slotwise_last_error_message(buf, sizeof buf, &n);
  return buf;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Runs a command given as a NULL-terminated list of C strings. */
static slotwise_status run_argv(slotwise_client *c, slotwise_reply **reply,
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
#define RUN(client, reply, ...) run_argv((client), (reply), (const char *const[]){__VA_ARGS__, NULL})

/* True when `reply` is a string-like reply holding exactly `want`. */
static int bytes_eq(const slotwise_reply *reply, const char *want) {
  const uint8_t *p = NULL;
  size_t n = 0;
  if (slotwise_reply_get_bytes(reply, &p, &n) != SLOTWISE_STATUS_OK) return 0;
  return n == strlen(want) && memcmp(p, want, n) == 0;
}

/* True when `reply` is a string-like reply whose bytes contain `want`. */
static int bytes_contain(const slotwise_reply *reply, const char *want) {
  const uint8_t *p = NULL;
  size_t n = 0, w = strlen(want);
  if (slotwise_reply_get_bytes(reply, &p, &n) != SLOTWISE_STATUS_OK) return 0;
  for (size_t i = 0; i + w <= n; i++) {
    if (memcmp(p + i, want, w) == 0) return 1;
  }
  return 0;
}

static slotwise_reply_type type_of(const slotwise_reply *reply) {
  slotwise_reply_type t = SLOTWISE_REPLY_TYPE_UNKNOWN;
  slotwise_reply_get_type(reply, &t);
  return t;
}

/* Options with every seed of a comma-separated list. */
static slotwise_options *options_with_seeds(const char *list) {
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

static slotwise_client *connect_cluster(const char *seeds) {
  slotwise_options *o = options_with_seeds(seeds);
  slotwise_client *c = NULL;
  CHECK_STATUS(slotwise_client_cluster(o, &c), SLOTWISE_STATUS_OK);
  slotwise_options_free(o);
  return c;
}

/* ---------------------------------------------------------------- no server needed */

static void test_version(void) {
  CHECK(slotwise_version_number() == SLOTWISE_VERSION_NUMBER);
  CHECK(strcmp(slotwise_version(), SLOTWISE_VERSION) == 0);
  CHECK(SLOTWISE_VERSION_NUMBER ==
        SLOTWISE_VERSION_MAJOR * 1000000 + SLOTWISE_VERSION_MINOR * 1000 + SLOTWISE_VERSION_PATCH);
  CHECK(strcmp(slotwise_status_name(SLOTWISE_STATUS_TIMEOUT), "TIMEOUT") == 0);
  CHECK(strcmp(slotwise_status_name(SLOTWISE_STATUS_NULL_ARGUMENT), "NULL_ARGUMENT") == 0);
  CHECK(strcmp(slotwise_status_name(123456), "UNKNOWN") == 0);
}

static void test_null_arguments(void) {
  slotwise_options *o = NULL;
  slotwise_client *c = (slotwise_client *)&o; /* not NULL: must be reset */
  slotwise_reply *r = (slotwise_reply *)&o;
  const uint8_t *p = NULL;
  size_t n = 0;

  /* _free(NULL) is a no-op for every type. */
  slotwise_options_free(NULL);
  slotwise_client_free(NULL);
  slotwise_reply_free(NULL);
  slotwise_pipeline_free(NULL);
  slotwise_health_report_free(NULL);

  CHECK_STATUS(slotwise_options_new(NULL), SLOTWISE_STATUS_NULL_ARGUMENT);
  CHECK(strstr(last_error(), "out") != NULL);
  CHECK_STATUS(slotwise_client_cluster(NULL, &c), SLOTWISE_STATUS_NULL_ARGUMENT);
  CHECK(c == NULL);
  CHECK_STATUS(slotwise_options_new(&o), SLOTWISE_STATUS_OK);
  CHECK_STATUS(slotwise_client_cluster(o, NULL), SLOTWISE_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(slotwise_options_add_seed(NULL, (const uint8_t *)"a:1", 3),
               SLOTWISE_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(slotwise_options_add_seed(o, NULL, 3), SLOTWISE_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(slotwise_options_set_remap_callback(o, NULL, NULL), SLOTWISE_STATUS_NULL_ARGUMENT);

  const uint8_t *argv[2] = {(const uint8_t *)"GET", NULL};
  size_t lens[2] = {3, 5};
  CHECK_STATUS(slotwise_command(NULL, 2, argv, lens, &r), SLOTWISE_STATUS_NULL_ARGUMENT);
  CHECK(r == NULL);
  CHECK(strstr(last_error(), "client") != NULL);
  CHECK_STATUS(slotwise_command_async(NULL, 2, argv, lens, NULL, NULL),
               SLOTWISE_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(slotwise_reply_get_bytes(NULL, &p, &n), SLOTWISE_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(slotwise_pipeline_new(NULL, NULL), SLOTWISE_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(slotwise_health_check(NULL, NULL), SLOTWISE_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(slotwise_client_set_event_callback(NULL, NULL, NULL), SLOTWISE_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(slotwise_event_get_type(NULL, NULL), SLOTWISE_STATUS_NULL_ARGUMENT);

  /* The last error: a message, cut to the buffer; a success clears it. */
  char small[8];
  size_t written = 99;
  CHECK_STATUS(slotwise_last_error_message(small, sizeof small, &written),
               SLOTWISE_STATUS_BUFFER_TOO_SMALL);
  CHECK(written == sizeof small - 1 && small[written] == '\0');
  CHECK(!slotwise_last_error_may_have_run());
  CHECK_STATUS(slotwise_options_set_db(o, 0), SLOTWISE_STATUS_OK);
  CHECK_STATUS(slotwise_last_error_message(small, sizeof small, &written), SLOTWISE_STATUS_OK);
  CHECK(written == 0 && small[0] == '\0');
  slotwise_options_free(o);
}

static void test_wrong_options(void) {
  slotwise_options *o = NULL;
  slotwise_client *c = NULL;
  const uint8_t bad_utf8[] = {0xff, 0xfe, ':', '1'};

  CHECK_STATUS(slotwise_options_new(&o), SLOTWISE_STATUS_OK);
  CHECK_STATUS(slotwise_options_add_seed(o, (const uint8_t *)"no-port", 7),
               SLOTWISE_STATUS_INVALID_ARGUMENT);
  CHECK(strstr(last_error(), "no-port") != NULL);
  CHECK_STATUS(slotwise_options_add_seed(o, (const uint8_t *)"h:99999", 7),
               SLOTWISE_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(slotwise_options_add_seed(o, bad_utf8, sizeof bad_utf8), SLOTWISE_STATUS_INVALID_UTF8);
  CHECK_STATUS(slotwise_options_set_protocol(o, 4), SLOTWISE_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(slotwise_options_set_read_from(o, 42), SLOTWISE_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(slotwise_options_set_read_from(o, SLOTWISE_READ_FROM_PREFER_REPLICA), SLOTWISE_STATUS_OK);
  CHECK_STATUS(slotwise_options_add_address_map(o, (const uint8_t *)"a:1", 3, (const uint8_t *)"b", 1),
               SLOTWISE_STATUS_INVALID_ARGUMENT);

  /* No seed at all. */
  CHECK_STATUS(slotwise_client_cluster(o, &c), SLOTWISE_STATUS_INVALID_ARGUMENT);
  CHECK(c == NULL);
  /* A timeout of 0 is refused by the constructor, naming the option. */
  CHECK_STATUS(slotwise_options_add_seed(o, (const uint8_t *)"127.0.0.1:1", 11), SLOTWISE_STATUS_OK);
  CHECK_STATUS(slotwise_options_set_request_timeout_ms(o, 0), SLOTWISE_STATUS_OK);
  CHECK_STATUS(slotwise_client_cluster(o, &c), SLOTWISE_STATUS_INVALID_ARGUMENT);
  CHECK(strstr(last_error(), "request_timeout") != NULL);
  CHECK_STATUS(slotwise_options_set_request_timeout_ms(o, 2000), SLOTWISE_STATUS_OK);
  /* Sentinel mode needs a service name; standalone exactly one address. */
  CHECK_STATUS(slotwise_client_sentinel(o, &c), SLOTWISE_STATUS_INVALID_ARGUMENT);
  CHECK(strstr(last_error(), "service name") != NULL);
  CHECK_STATUS(slotwise_options_add_seed(o, (const uint8_t *)"127.0.0.1:2", 11), SLOTWISE_STATUS_OK);
  CHECK_STATUS(slotwise_client_standalone(o, &c), SLOTWISE_STATUS_INVALID_ARGUMENT);
  CHECK(c == NULL);
  slotwise_options_free(o);

  /* Bad commands on a (closed) client still give statuses, not crashes. */
}

/* A listener that accepts TCP connections and never answers: a server that hangs. */
static int silent_listener(int *port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a;
  socklen_t len = sizeof a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 16) != 0 ||
      getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
    perror("silent listener");
    return -1;
  }
  *port = ntohs(a.sin_port);
  return fd;
}

static void test_unreachable_seeds(void) {
  slotwise_options *o = NULL;
  slotwise_client *c = NULL;
  char addr[64];
  int port = 0;
  int fd = silent_listener(&port);
  CHECK(fd >= 0);
  snprintf(addr, sizeof addr, "127.0.0.1:%d", port);

  /* Refused: no server on port 1. */
  CHECK_STATUS(slotwise_options_new(&o), SLOTWISE_STATUS_OK);
  CHECK_STATUS(slotwise_options_add_seed(o, (const uint8_t *)"127.0.0.1:1", 11), SLOTWISE_STATUS_OK);
  CHECK_STATUS(slotwise_options_set_connect_timeout_ms(o, 300), SLOTWISE_STATUS_OK);
  CHECK_STATUS(slotwise_options_set_topology_query_timeout_ms(o, 300), SLOTWISE_STATUS_OK);
  CHECK_STATUS(slotwise_client_cluster(o, &c), SLOTWISE_STATUS_TOPOLOGY);
  CHECK(c == NULL);
  CHECK_STATUS(slotwise_client_standalone(o, &c), SLOTWISE_STATUS_CONNECT);
  CHECK(c == NULL);
  slotwise_options_free(o);

  /* Accepted but never answered: the short connect timeout ends it. */
  CHECK_STATUS(slotwise_options_new(&o), SLOTWISE_STATUS_OK);
  CHECK_STATUS(slotwise_options_add_seed(o, (const uint8_t *)addr, strlen(addr)), SLOTWISE_STATUS_OK);
  CHECK_STATUS(slotwise_options_set_connect_timeout_ms(o, 300), SLOTWISE_STATUS_OK);
  CHECK_STATUS(slotwise_options_set_topology_query_timeout_ms(o, 300), SLOTWISE_STATUS_OK);
  double t0 = now_s();
  slotwise_status s = slotwise_client_standalone(o, &c);
  double took = now_s() - t0;
  CHECK(s == SLOTWISE_STATUS_CONNECT || s == SLOTWISE_STATUS_TIMEOUT);
  CHECK(c == NULL);
  CHECK(took < (slow ? 10.0 : 3.0));
  t0 = now_s();
  CHECK_STATUS(slotwise_client_cluster(o, &c), SLOTWISE_STATUS_TOPOLOGY);
  CHECK(now_s() - t0 < (slow ? 10.0 : 3.0));
  slotwise_options_free(o);
  if (fd >= 0) close(fd);
}

/* ---------------------------------------------------------------- against the cluster */

static void test_bad_commands(slotwise_client *c) {
  slotwise_reply *r = (slotwise_reply *)&r;
  const uint8_t *argv[2] = {(const uint8_t *)"GET", NULL};
  size_t lens[2] = {3, 4};
  CHECK_STATUS(slotwise_command(c, 0, argv, lens, &r), SLOTWISE_STATUS_INVALID_ARGUMENT);
  CHECK(r == NULL);
  CHECK_STATUS(slotwise_command(c, 2, NULL, lens, &r), SLOTWISE_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(slotwise_command(c, 2, argv, NULL, &r), SLOTWISE_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(slotwise_command(c, 2, argv, lens, &r), SLOTWISE_STATUS_NULL_ARGUMENT);
  CHECK(strstr(last_error(), "argv[1]") != NULL);
  CHECK_STATUS(slotwise_command(c, 1, argv, lens, NULL), SLOTWISE_STATUS_NULL_ARGUMENT);
  /* A NULL argument of length 0 is an empty argument. */
  lens[1] = 0;
  CHECK_STATUS(slotwise_command(c, 2, argv, lens, &r), SLOTWISE_STATUS_OK);
  CHECK(type_of(r) == SLOTWISE_REPLY_TYPE_NIL);
  slotwise_reply_free(r);
}

static void test_reply_types(slotwise_client *c) {
  slotwise_reply *r = NULL;
  const slotwise_reply *e = NULL, *k = NULL, *v = NULL;
  int64_t i = 0;
  double d = 0;
  bool b = false;
  size_t n = 0;
  const uint8_t *p = NULL;

  /* SIMPLE_STRING, BULK_STRING (binary-safe), NIL. */
  const uint8_t *argv[3] = {(const uint8_t *)"SET", (const uint8_t *)"c:bin", (const uint8_t *)"a\0b"};
  size_t lens[3] = {3, 5, 3};
  CHECK_STATUS(slotwise_command(c, 3, argv, lens, &r), SLOTWISE_STATUS_OK);
  CHECK(type_of(r) == SLOTWISE_REPLY_TYPE_SIMPLE_STRING && bytes_eq(r, "OK"));
  slotwise_reply_free(r);
  CHECK_STATUS(RUN(c, &r, "GET", "c:bin"), SLOTWISE_STATUS_OK);
  CHECK(type_of(r) == SLOTWISE_REPLY_TYPE_BULK_STRING);
  CHECK_STATUS(slotwise_reply_get_bytes(r, &p, &n), SLOTWISE_STATUS_OK);
  CHECK(n == 3 && memcmp(p, "a\0b", 3) == 0);
  CHECK_STATUS(slotwise_reply_get_integer(r, &i), SLOTWISE_STATUS_WRONG_TYPE);
  CHECK_STATUS(slotwise_reply_get_len(r, &n), SLOTWISE_STATUS_WRONG_TYPE);
  slotwise_reply_free(r);
  CHECK_STATUS(RUN(c, &r, "GET", "c:missing"), SLOTWISE_STATUS_OK);
  CHECK(type_of(r) == SLOTWISE_REPLY_TYPE_NIL);
  CHECK_STATUS(slotwise_reply_get_bytes(r, &p, &n), SLOTWISE_STATUS_WRONG_TYPE);
  slotwise_reply_free(r);

  /* INTEGER. */
  RUN(c, &r, "DEL", "c:n");
  slotwise_reply_free(r);
  CHECK_STATUS(RUN(c, &r, "INCRBY", "c:n", "-42"), SLOTWISE_STATUS_OK);
  CHECK_STATUS(slotwise_reply_get_integer(r, &i), SLOTWISE_STATUS_OK);
  CHECK(i == -42 && type_of(r) == SLOTWISE_REPLY_TYPE_INTEGER);
  slotwise_reply_free(r);

  /* DOUBLE (ZSCORE in RESP3). */
  CHECK_STATUS(RUN(c, &r, "ZADD", "c:z", "2.5", "m"), SLOTWISE_STATUS_OK);
  slotwise_reply_free(r);
  CHECK_STATUS(RUN(c, &r, "ZSCORE", "c:z", "m"), SLOTWISE_STATUS_OK);
  CHECK(type_of(r) == SLOTWISE_REPLY_TYPE_DOUBLE);
  CHECK_STATUS(slotwise_reply_get_double(r, &d), SLOTWISE_STATUS_OK);
  CHECK(d == 2.5);
  slotwise_reply_free(r);

  /* BOOLEAN, BIG_NUMBER, VERBATIM through Lua's RESP3 conversions. */
  CHECK_STATUS(RUN(c, &r, "EVAL", "redis.setresp(3); return true", "0"), SLOTWISE_STATUS_OK);
  CHECK(type_of(r) == SLOTWISE_REPLY_TYPE_BOOLEAN);
  CHECK_STATUS(slotwise_reply_get_bool(r, &b), SLOTWISE_STATUS_OK);
  CHECK(b);
  slotwise_reply_free(r);
  CHECK_STATUS(RUN(c, &r, "EVAL", "redis.setresp(3); return {big_number='123456789012345678901234567890'}", "0"),
               SLOTWISE_STATUS_OK);
  CHECK(type_of(r) == SLOTWISE_REPLY_TYPE_BIG_NUMBER && bytes_eq(r, "123456789012345678901234567890"));
  slotwise_reply_free(r);
  CHECK_STATUS(RUN(c, &r, "EVAL", "redis.setresp(3); return {verbatim_string={format='txt', string='hi'}}", "0"),
               SLOTWISE_STATUS_OK);
  CHECK(type_of(r) == SLOTWISE_REPLY_TYPE_VERBATIM && bytes_eq(r, "hi"));
  CHECK_STATUS(slotwise_reply_get_verbatim_format(r, &p, &n), SLOTWISE_STATUS_OK);
  CHECK(n == 3 && memcmp(p, "txt", 3) == 0);
  slotwise_reply_free(r);

  /* ARRAY holding an ERROR. */
  CHECK_STATUS(RUN(c, &r, "EVAL", "return {7, redis.error_reply('boom')}", "0"), SLOTWISE_STATUS_OK);
  CHECK(type_of(r) == SLOTWISE_REPLY_TYPE_ARRAY);
  CHECK_STATUS(slotwise_reply_get_len(r, &n), SLOTWISE_STATUS_OK);
  CHECK(n == 2);
  CHECK_STATUS(slotwise_reply_get_element(r, 0, &e), SLOTWISE_STATUS_OK);
  CHECK(slotwise_reply_get_integer(e, &i) == SLOTWISE_STATUS_OK && i == 7);
  CHECK_STATUS(slotwise_reply_get_element(r, 1, &e), SLOTWISE_STATUS_OK);
  CHECK(type_of(e) == SLOTWISE_REPLY_TYPE_ERROR && bytes_contain(e, "boom"));
  CHECK_STATUS(slotwise_reply_get_element(r, 2, &e), SLOTWISE_STATUS_OUT_OF_RANGE);
  CHECK(e == NULL);
  CHECK_STATUS(slotwise_reply_get_map_entry(r, 0, &k, &v), SLOTWISE_STATUS_WRONG_TYPE);
  slotwise_reply_free(r);

  /* MAP (HGETALL in RESP3). */
  RUN(c, &r, "DEL", "c:h");
  slotwise_reply_free(r);
  CHECK_STATUS(RUN(c, &r, "HSET", "c:h", "f1", "v1", "f2", "v2"), SLOTWISE_STATUS_OK);
  slotwise_reply_free(r);
  CHECK_STATUS(RUN(c, &r, "HGETALL", "c:h"), SLOTWISE_STATUS_OK);
  CHECK(type_of(r) == SLOTWISE_REPLY_TYPE_MAP);
  CHECK(slotwise_reply_get_len(r, &n) == SLOTWISE_STATUS_OK && n == 2);
  int found = 0;
  for (size_t j = 0; j < n; j++) {
    CHECK_STATUS(slotwise_reply_get_map_entry(r, j, &k, &v), SLOTWISE_STATUS_OK);
    if (bytes_eq(k, "f1") && bytes_eq(v, "v1")) found++;
    if (bytes_eq(k, "f2") && bytes_eq(v, "v2")) found++;
  }
  CHECK(found == 2);
  CHECK_STATUS(slotwise_reply_get_map_entry(r, 2, &k, &v), SLOTWISE_STATUS_OUT_OF_RANGE);
  CHECK_STATUS(slotwise_reply_get_element(r, 0, &e), SLOTWISE_STATUS_WRONG_TYPE);
  slotwise_reply_free(r);

  /* SET (SMEMBERS in RESP3). */
  RUN(c, &r, "DEL", "c:s");
  slotwise_reply_free(r);
  CHECK_STATUS(RUN(c, &r, "SADD", "c:s", "x", "y", "z"), SLOTWISE_STATUS_OK);
  slotwise_reply_free(r);
  CHECK_STATUS(RUN(c, &r, "SMEMBERS", "c:s"), SLOTWISE_STATUS_OK);
  CHECK(type_of(r) == SLOTWISE_REPLY_TYPE_SET);
  CHECK(slotwise_reply_get_len(r, &n) == SLOTWISE_STATUS_OK && n == 3);
  CHECK(slotwise_reply_get_element(r, 2, &e) == SLOTWISE_STATUS_OK && type_of(e) == SLOTWISE_REPLY_TYPE_BULK_STRING);
  slotwise_reply_free(r);

  /* An error reply is a status with the server's message; it ran, so not "may have run". */
  CHECK_STATUS(RUN(c, &r, "SET", "c:str", "abc"), SLOTWISE_STATUS_OK);
  slotwise_reply_free(r);
  r = (slotwise_reply *)&r;
  CHECK_STATUS(RUN(c, &r, "INCR", "c:str"), SLOTWISE_STATUS_SERVER);
  CHECK(r == NULL);
  CHECK(strstr(last_error(), "not an integer") != NULL);
  CHECK(!slotwise_last_error_may_have_run());
  CHECK_STATUS(RUN(c, &r, "LPUSH", "c:str", "x"), SLOTWISE_STATUS_SERVER);
  CHECK(strstr(last_error(), "WRONGTYPE") != NULL);
}

static void test_cross_slot(slotwise_client *c) {
  slotwise_reply *r = NULL;
  const slotwise_reply *e = NULL;
  size_t n = 0;
  int64_t i = 0;
  /* Ten keys in (almost certainly) ten different slots, in one MSET / MGET / DEL each. */
  const char *mset[21] = {"MSET"};
  const char *mget[11] = {"MGET"};
  char keys[10][16], vals[10][16];
  for (int j = 0; j < 10; j++) {
    snprintf(keys[j], sizeof keys[j], "x:key%d", j);
    snprintf(vals[j], sizeof vals[j], "val%d", j);
    mset[1 + 2 * j] = keys[j];
    mset[2 + 2 * j] = vals[j];
    mget[1 + j] = keys[j];
  }
  const uint8_t *argv[21];
  size_t lens[21];
  for (int j = 0; j < 21; j++) {
    argv[j] = (const uint8_t *)mset[j];
    lens[j] = strlen(mset[j]);
  }
  CHECK_STATUS(slotwise_command(c, 21, argv, lens, &r), SLOTWISE_STATUS_OK);
  CHECK(bytes_eq(r, "OK"));
  slotwise_reply_free(r);
  for (int j = 0; j < 11; j++) {
    argv[j] = (const uint8_t *)mget[j];
    lens[j] = strlen(mget[j]);
  }
  CHECK_STATUS(slotwise_command(c, 11, argv, lens, &r), SLOTWISE_STATUS_OK);
  CHECK(slotwise_reply_get_len(r, &n) == SLOTWISE_STATUS_OK && n == 10);
  int in_order = 1;
  for (size_t j = 0; j < n; j++) {
    if (slotwise_reply_get_element(r, j, &e) != SLOTWISE_STATUS_OK || !bytes_eq(e, vals[j])) in_order = 0;
  }
  CHECK(in_order);
  slotwise_reply_free(r);
  argv[0] = (const uint8_t *)"DEL";
  lens[0] = 3;
  CHECK_STATUS(slotwise_command(c, 11, argv, lens, &r), SLOTWISE_STATUS_OK);
  CHECK(slotwise_reply_get_integer(r, &i) == SLOTWISE_STATUS_OK && i == 10);
  slotwise_reply_free(r);
}

static slotwise_status pipe_add(slotwise_pipeline *p, const char *const *args) {
  const uint8_t *argv[8];
  size_t lens[8];
  size_t argc = 0;
  for (; args[argc] != NULL; argc++) {
    argv[argc] = (const uint8_t *)args[argc];
    lens[argc] = strlen(args[argc]);
  }
  return slotwise_pipeline_add(p, argc, argv, lens);
}
#define PIPE(p, ...) pipe_add((p), (const char *const[]){__VA_ARGS__, NULL})

static void test_pipeline(slotwise_client *c) {
  slotwise_pipeline *p = NULL;
  const slotwise_reply *r = NULL;
  size_t n = 0;
  int64_t i = 0;
  char key[32], val[32];

  CHECK_STATUS(slotwise_pipeline_new(c, &p), SLOTWISE_STATUS_OK);
  CHECK_STATUS(slotwise_pipeline_execute(p), SLOTWISE_STATUS_OK); /* empty */
  CHECK_STATUS(slotwise_pipeline_result(p, 0, &r), SLOTWISE_STATUS_OUT_OF_RANGE);
  CHECK_STATUS(PIPE(p, "SET", "p:str", "text"), SLOTWISE_STATUS_OK);
  for (int j = 0; j < 50; j++) {
    snprintf(key, sizeof key, "p:k%d", j);
    snprintf(val, sizeof val, "v%d", j);
    CHECK_STATUS(PIPE(p, "SET", key, val), SLOTWISE_STATUS_OK);
  }
  CHECK_STATUS(PIPE(p, "INCR", "p:str"), SLOTWISE_STATUS_OK); /* fails on the server */
  for (int j = 0; j < 50; j++) {
    snprintf(key, sizeof key, "p:k%d", j);
    CHECK_STATUS(PIPE(p, "GET", key), SLOTWISE_STATUS_OK);
  }
  CHECK(slotwise_pipeline_len(p, &n) == SLOTWISE_STATUS_OK && n == 102);
  CHECK_STATUS(slotwise_pipeline_execute(p), SLOTWISE_STATUS_OK);
  CHECK(slotwise_pipeline_len(p, &n) == SLOTWISE_STATUS_OK && n == 0);

  int sets_ok = 1, gets_ok = 1;
  for (int j = 0; j < 50; j++) {
    if (slotwise_pipeline_result(p, (size_t)(1 + j), &r) != SLOTWISE_STATUS_OK || !bytes_eq(r, "OK")) sets_ok = 0;
    snprintf(val, sizeof val, "v%d", j);
    if (slotwise_pipeline_result(p, (size_t)(52 + j), &r) != SLOTWISE_STATUS_OK || !bytes_eq(r, val)) gets_ok = 0;
  }
  CHECK(sets_ok);
  CHECK(gets_ok);
  CHECK_STATUS(slotwise_pipeline_result(p, 51, &r), SLOTWISE_STATUS_SERVER);
  CHECK(r == NULL);
  CHECK(strstr(last_error(), "not an integer") != NULL);
  CHECK_STATUS(slotwise_pipeline_result(p, 102, &r), SLOTWISE_STATUS_OUT_OF_RANGE);

  /* Reused for a second batch; the client may be freed before the pipeline. */
  CHECK_STATUS(PIPE(p, "DEL", "p:cnt"), SLOTWISE_STATUS_OK);
  CHECK_STATUS(PIPE(p, "INCR", "p:cnt"), SLOTWISE_STATUS_OK);
  CHECK_STATUS(PIPE(p, "INCR", "p:cnt"), SLOTWISE_STATUS_OK);
  CHECK_STATUS(slotwise_pipeline_execute(p), SLOTWISE_STATUS_OK);
  CHECK(slotwise_pipeline_result(p, 2, &r) == SLOTWISE_STATUS_OK && slotwise_reply_get_integer(r, &i) == SLOTWISE_STATUS_OK && i == 2);
  slotwise_pipeline_free(p);
}

/* ---------------------------------------------------------------- async from several threads */

#define ASYNC_THREADS 4
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

static void test_async_threads(slotwise_client *c) {
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

/* Callbacks still come exactly once when the client is freed with commands in flight. */
static atomic_int freed_done, freed_bad;
static void freed_cb(void *ud, slotwise_status status, slotwise_reply *reply) {
  (void)ud;
  if (!(status == SLOTWISE_STATUS_OK || status == SLOTWISE_STATUS_CLOSED)) atomic_fetch_add(&freed_bad, 1);
  if ((status == SLOTWISE_STATUS_OK) != (reply != NULL)) atomic_fetch_add(&freed_bad, 1);
  slotwise_reply_free(reply);
  atomic_fetch_add(&freed_done, 1);
}

static void test_async_then_free(const char *seeds) {
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

/* ---------------------------------------------------------------- health, callbacks, modes */

static void test_health_check(slotwise_client *c) {
  slotwise_health_report *h = NULL;
  bool healthy = false;
  size_t n = 0, uncovered = 99;
  CHECK_STATUS(slotwise_health_check(c, &h), SLOTWISE_STATUS_OK);
  CHECK(slotwise_health_report_is_healthy(h, &healthy) == SLOTWISE_STATUS_OK && healthy);
  CHECK(slotwise_health_report_uncovered_slots(h, &uncovered) == SLOTWISE_STATUS_OK && uncovered == 0);
  CHECK(slotwise_health_report_node_count(h, &n) == SLOTWISE_STATUS_OK && n == 3);
  for (size_t j = 0; j < n; j++) {
    const uint8_t *addr = NULL, *err = NULL;
    size_t addr_len = 0, err_len = 99;
    slotwise_status node = SLOTWISE_STATUS_PANIC;
    uint64_t us = 0;
    CHECK_STATUS(slotwise_health_report_node(h, j, &addr, &addr_len, &node, &us), SLOTWISE_STATUS_OK);
    CHECK(addr_len > 0 && memchr(addr, ':', addr_len) != NULL);
    CHECK(node == SLOTWISE_STATUS_OK);
    CHECK_STATUS(slotwise_health_report_node_error(h, j, &err, &err_len), SLOTWISE_STATUS_OK);
    CHECK(err_len == 0);
  }
  CHECK_STATUS(slotwise_health_report_node(h, n, NULL, NULL, NULL, NULL), SLOTWISE_STATUS_NULL_ARGUMENT);
  const uint8_t *a = NULL;
  size_t al = 0;
  slotwise_status ns = SLOTWISE_STATUS_OK;
  uint64_t us = 0;
  CHECK_STATUS(slotwise_health_report_node(h, n, &a, &al, &ns, &us), SLOTWISE_STATUS_OUT_OF_RANGE);
  slotwise_health_report_free(h);
}

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

static void test_remap_and_resolver(const char *seeds) {
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

static void test_standalone(const char *addr) {
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

static void test_sentinel(const char *sentinels, const char *service) {
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

/* ---------------------------------------------------------------- events through a failover */

struct events {
  pthread_mutex_t lock;
  slotwise_client *client;
  int topology_changes, failovers, other, wrong_type_ok, blocking_ok;
  char old_primary[64], new_primary[64];
};

static void copy_bytes(char *dst, size_t cap, const uint8_t *p, size_t n) {
  if (n >= cap) n = cap - 1;
  memcpy(dst, p, n);
  dst[n] = '\0';
}

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

static void test_failover_events(const char *seeds, const char *replica, const char *old_primary) {
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
  CHECK_STATUS(slotwise_client_set_event_callback(c, NULL, NULL), SLOTWISE_STATUS_OK);
  pthread_mutex_lock(&st.lock);
  CHECK(st.blocking_ok >= 1);
  pthread_mutex_unlock(&st.lock);
  /* Set again and left set: slotwise_client_free stops it. */
  CHECK_STATUS(slotwise_client_set_event_callback(c, event_cb, &st), SLOTWISE_STATUS_OK);
  slotwise_client_free(c);
}

/* ---------------------------------------------------------------- main */

int main(void) {
  const char *seeds = getenv("SLOTWISE_TEST_SEEDS");
  const char *replica = getenv("SLOTWISE_TEST_REPLICA");
  const char *replica_of = getenv("SLOTWISE_TEST_REPLICA_OF");
  const char *sentinels = getenv("SLOTWISE_TEST_SENTINELS");
  const char *service = getenv("SLOTWISE_TEST_SERVICE");
  slow = getenv("SLOTWISE_TEST_SLOW") != NULL;
  setvbuf(stdout, NULL, _IONBF, 0);

  printf("slotwise %s C tests\n", slotwise_version());
  test_version();
  test_null_arguments();
  test_wrong_options();
  test_unreachable_seeds();
  if (!seeds) {
    fprintf(stderr, "SLOTWISE_TEST_SEEDS is not set: run through tests/c/run.py\n");
    failed++;
  } else {
    slotwise_client *c = connect_cluster(seeds);
    if (c) {
      uint64_t v = 0;
      CHECK(slotwise_client_topology_version(c, &v) == SLOTWISE_STATUS_OK && v > 0);
      printf("connected; reply types\n");
      test_bad_commands(c);
      test_reply_types(c);
      printf("cross-slot, pipeline\n");
      test_cross_slot(c);
      test_pipeline(c);
      printf("async from %d threads\n", ASYNC_THREADS);
      test_async_threads(c);
      printf("health check\n");
      test_health_check(c);
      CHECK_STATUS(slotwise_client_refresh_topology(c), SLOTWISE_STATUS_OK);
      slotwise_client_free(c);
    }
    test_async_then_free(seeds);
    printf("remap and resolver callbacks\n");
    test_remap_and_resolver(seeds);
    if (replica && replica_of) {
      printf("standalone\n");
      test_standalone(replica_of);
      printf("events through a failover\n");
      test_failover_events(seeds, replica, replica_of);
    }
  }
  if (sentinels && service) {
    printf("sentinel\n");
    test_sentinel(sentinels, service);
  }
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
