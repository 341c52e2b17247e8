/* Transactions (MULTI/EXEC, WATCH) and scripts (EVALSHA, NOSCRIPT) against the cluster. */
#include <string.h>

#include "check.h"



static slotwise_status tx_cmd(slotwise_transaction *tx, const char *const *args, bool add,
                              slotwise_reply **reply) {
  const uint8_t *argv[8];
  size_t lens[8];
  size_t n = 0;
  for (; args[n] && n < 8; n++) {
    argv[n] = (const uint8_t *)args[n];
    lens[n] = strlen(args[n]);
  }
  if (add) return slotwise_transaction_add(tx, n, argv, lens);
  return slotwise_transaction_query(tx, n, argv, lens, reply);
}
#define TX_ADD(tx, ...) tx_cmd((tx), (const char *const[]){__VA_ARGS__, NULL}, true, NULL)
#define TX_QUERY(tx, reply, ...) tx_cmd((tx), (const char *const[]){__VA_ARGS__, NULL}, false, (reply))

static void watch(slotwise_transaction *tx, const char *key) {
  const uint8_t *argv[1] = {(const uint8_t *)key};
  size_t lens[1] = {strlen(key)};
  CHECK_STATUS(slotwise_transaction_watch(tx, 1, argv, lens), SLOTWISE_STATUS_OK);
}

void test_transactions(slotwise_client *c) {
  slotwise_transaction *tx = NULL;
  slotwise_reply *r = NULL;
  const slotwise_reply *e = NULL;
  int64_t i = 0;
  size_t n = 0;

  /* MULTI/EXEC: one ARRAY of replies, an error inside EXEC in its place. */
  RUN(c, &r, "DEL", "{ctx}.a", "{ctx}.s");
  slotwise_reply_free(r);
  RUN(c, &r, "SET", "{ctx}.s", "text");
  slotwise_reply_free(r);
  CHECK_STATUS(slotwise_transaction_new(c, &tx), SLOTWISE_STATUS_OK);
  CHECK_STATUS(TX_ADD(tx, "INCR", "{ctx}.a"), SLOTWISE_STATUS_OK);
  CHECK_STATUS(TX_ADD(tx, "INCR", "{ctx}.s"), SLOTWISE_STATUS_OK);
  CHECK_STATUS(TX_ADD(tx, "INCRBY", "{ctx}.a", "10"), SLOTWISE_STATUS_OK);
  CHECK_STATUS(TX_ADD(tx, "SET", "{other}.b", "1"), SLOTWISE_STATUS_CROSS_SLOT);
  CHECK_STATUS(slotwise_transaction_exec(tx, &r), SLOTWISE_STATUS_OK);
  CHECK(type_of(r) == SLOTWISE_REPLY_TYPE_ARRAY);
  CHECK(slotwise_reply_get_len(r, &n) == SLOTWISE_STATUS_OK && n == 3);
  CHECK(slotwise_reply_get_element(r, 0, &e) == SLOTWISE_STATUS_OK && slotwise_reply_get_integer(e, &i) == SLOTWISE_STATUS_OK && i == 1);
  CHECK(slotwise_reply_get_element(r, 1, &e) == SLOTWISE_STATUS_OK && type_of(e) == SLOTWISE_REPLY_TYPE_ERROR);
  CHECK(slotwise_reply_get_element(r, 2, &e) == SLOTWISE_STATUS_OK && slotwise_reply_get_integer(e, &i) == SLOTWISE_STATUS_OK && i == 11);
  slotwise_reply_free(r);
  /* Used up. */
  CHECK_STATUS(slotwise_transaction_exec(tx, &r), SLOTWISE_STATUS_INVALID_ARGUMENT);
  slotwise_transaction_free(tx);

  /* WATCH: a concurrent write makes EXEC answer NIL and apply nothing. */
  CHECK_STATUS(slotwise_transaction_new(c, &tx), SLOTWISE_STATUS_OK);
  watch(tx, "{ctx}.a");
  CHECK_STATUS(TX_QUERY(tx, &r, "GET", "{ctx}.a"), SLOTWISE_STATUS_OK);
  CHECK(bytes_eq(r, "11"));
  slotwise_reply_free(r);
  RUN(c, &r, "SET", "{ctx}.a", "500");
  slotwise_reply_free(r);
  CHECK_STATUS(TX_ADD(tx, "SET", "{ctx}.a", "12"), SLOTWISE_STATUS_OK);
  CHECK_STATUS(slotwise_transaction_exec(tx, &r), SLOTWISE_STATUS_OK);
  CHECK(type_of(r) == SLOTWISE_REPLY_TYPE_NIL);
  slotwise_reply_free(r);
  slotwise_transaction_free(tx);
  CHECK_STATUS(RUN(c, &r, "GET", "{ctx}.a"), SLOTWISE_STATUS_OK);
  CHECK(bytes_eq(r, "500"));
  slotwise_reply_free(r);

  /* EXECABORT: refused while queueing, nothing applied, certainly not run. */
  CHECK_STATUS(slotwise_transaction_new(c, &tx), SLOTWISE_STATUS_OK);
  CHECK_STATUS(TX_ADD(tx, "INCR", "{ctx}.a"), SLOTWISE_STATUS_OK);
  CHECK_STATUS(TX_ADD(tx, "SET", "{ctx}.a"), SLOTWISE_STATUS_OK);
  CHECK_STATUS(slotwise_transaction_exec(tx, &r), SLOTWISE_STATUS_EXEC_ABORT);
  CHECK(r == NULL && !slotwise_last_error_may_have_run());
  slotwise_transaction_free(tx);
  CHECK_STATUS(RUN(c, &r, "GET", "{ctx}.a"), SLOTWISE_STATUS_OK);
  CHECK(bytes_eq(r, "500"));
  slotwise_reply_free(r);
  slotwise_transaction_free(NULL);
}

void test_scripts(slotwise_client *c) {
  slotwise_reply *r = NULL;
  const char *body = "return redis.call('INCRBY', KEYS[1], ARGV[1])";
  const uint8_t *argv[2] = {(const uint8_t *)"{cscript}.n", (const uint8_t *)"5"};
  size_t lens[2] = {11, 1};
  int64_t i = 0;
  RUN(c, &r, "DEL", "{cscript}.n");
  slotwise_reply_free(r);
  CHECK_STATUS(slotwise_script_run(c, (const uint8_t *)body, strlen(body), 1, 2, argv, lens, false, &r),
               SLOTWISE_STATUS_OK);
  CHECK(slotwise_reply_get_integer(r, &i) == SLOTWISE_STATUS_OK && i == 5);
  slotwise_reply_free(r);
  /* Every node forgets it: NOSCRIPT, loaded again, run once. */
  RUN(c, &r, "SCRIPT", "FLUSH");
  slotwise_reply_free(r);
  CHECK_STATUS(slotwise_script_run(c, (const uint8_t *)body, strlen(body), 1, 2, argv, lens, false, &r),
               SLOTWISE_STATUS_OK);
  CHECK(slotwise_reply_get_integer(r, &i) == SLOTWISE_STATUS_OK && i == 10);
  slotwise_reply_free(r);
  CHECK_STATUS(slotwise_script_run(c, (const uint8_t *)body, strlen(body), 3, 2, argv, lens, false, &r),
               SLOTWISE_STATUS_INVALID_ARGUMENT);
  CHECK(r == NULL);
  CHECK_STATUS(slotwise_script_run(c, (const uint8_t *)"return 7", 8, 0, 0, NULL, NULL, true, &r),
               SLOTWISE_STATUS_OK);
  CHECK(slotwise_reply_get_integer(r, &i) == SLOTWISE_STATUS_OK && i == 7);
  slotwise_reply_free(r);
}
