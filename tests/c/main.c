/*
 * C tests of libslotwise against real servers, started by tests/c/run.py (the harness):
 *
 *   SLOTWISE_TEST_SEEDS       cluster seeds, "host:port,host:port,..."
 *   SLOTWISE_TEST_REPLICA     a replica to promote with CLUSTER FAILOVER ("host:port")
 *   SLOTWISE_TEST_REPLICA_OF  its primary ("host:port")
 *   SLOTWISE_TEST_SENTINELS   sentinels of a Sentinel deployment (optional)
 *   SLOTWISE_TEST_SERVICE     its service name
 *   SLOTWISE_TEST_SENTINEL_VICTIM, _KILL, _RESTART
 *                             one sentinel's address and shell commands that stop and
 *                             restart it (optional)
 *   SLOTWISE_TEST_TLS_ADDR, _TLS_CA, _TLS_UNTRUSTED_CA, _TLS_CERT, _TLS_KEY, _TLS_PASSWORD
 *                             a TLS-only server with the ACL user "app" (optional), and
 *   SLOTWISE_TEST_TLS_KILL    a shell command closing every connection of "app" there
 *   SLOTWISE_TEST_SLOW        set under valgrind: longer waits and timeouts
 *
 * The test files (test_*.c) share check.h. Prints one line per failed check and closes with
 * "N passed, M failed"; exits 1 on failure.
 */
#include <stdio.h>
#include <stdlib.h>

#include "check.h"

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
      printf("transactions, scripts\n");
      test_transactions(c);
      test_scripts(c);
      printf("async from %d threads\n", ASYNC_THREADS);
      test_async_threads(c);
      printf("pub/sub\n");
      test_pubsub(c);
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
    test_sentinel(sentinels, service, getenv("SLOTWISE_TEST_SENTINEL_VICTIM"),
                  getenv("SLOTWISE_TEST_SENTINEL_KILL"), getenv("SLOTWISE_TEST_SENTINEL_RESTART"));
  }
  const char *tls_addr = getenv("SLOTWISE_TEST_TLS_ADDR");
  if (tls_addr) {
    printf("tls and credential rotation\n");
    test_tls(tls_addr, getenv("SLOTWISE_TEST_TLS_CA"), getenv("SLOTWISE_TEST_TLS_UNTRUSTED_CA"),
             getenv("SLOTWISE_TEST_TLS_CERT"), getenv("SLOTWISE_TEST_TLS_KEY"), getenv("SLOTWISE_TEST_TLS_PASSWORD"),
             getenv("SLOTWISE_TEST_TLS_KILL"));
  }
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
