/* Commands against the cluster: every reply type, cross-slot commands, pipelines, health. */
#include <string.h>

#include "check.h"

void test_bad_commands(slotwise_client *c) {
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

void test_reply_types(slotwise_client *c) {
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

void test_cross_slot(slotwise_client *c) {
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

void test_pipeline(slotwise_client *c) {
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

void test_health_check(slotwise_client *c) {
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
