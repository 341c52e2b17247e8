#define _POSIX_C_SOURCE 200809L

/* Bad arguments, wrong options, unreachable seeds: each gives its status (no server needed). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"

void test_version(void) {
  CHECK(slotwise_version_number() == SLOTWISE_VERSION_NUMBER);
  CHECK(strcmp(slotwise_version(), SLOTWISE_VERSION) == 0);
  CHECK(SLOTWISE_VERSION_NUMBER ==
        SLOTWISE_VERSION_MAJOR * 1000000 + SLOTWISE_VERSION_MINOR * 1000 + SLOTWISE_VERSION_PATCH);
  CHECK(strcmp(slotwise_status_name(SLOTWISE_STATUS_TIMEOUT), "TIMEOUT") == 0);
  CHECK(strcmp(slotwise_status_name(SLOTWISE_STATUS_NULL_ARGUMENT), "NULL_ARGUMENT") == 0);
  CHECK(strcmp(slotwise_status_name(123456), "UNKNOWN") == 0);
}

void test_null_arguments(void) {
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

void test_wrong_options(void) {
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
  CHECK_STATUS(slotwise_options_set_pubsub_queue(o, 0), SLOTWISE_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(slotwise_options_set_pubsub_queue(o, 1000), SLOTWISE_STATUS_OK);
  CHECK_STATUS(slotwise_options_set_pubsub_heartbeat_ms(o, 0), SLOTWISE_STATUS_OK); /* 0: off */
  CHECK_STATUS(slotwise_options_set_pubsub_heartbeat_ms(o, 2000), SLOTWISE_STATUS_OK);
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

void test_unreachable_seeds(void) {
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
