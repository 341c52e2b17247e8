/*
 * The smallest slotwise program: connect, SET, GET, print.
 *
 *   cc hello.c $(pkg-config --cflags --libs slotwise) -o hello
 *   ./hello cluster 127.0.0.1:7000        # any node of a Redis Cluster
 *   ./hello standalone 127.0.0.1:6379     # one Redis server
 */
#include <stdio.h>
#include <string.h>

#include <slotwise.h>

/* Prints a failed call's status and message; returns 1 for main's exit code. */
static int fail(const char *what, slotwise_status s) {
  char msg[512];
  slotwise_last_error_message(msg, sizeof msg, NULL);
  fprintf(stderr, "%s: %s: %s\n", what, slotwise_status_name(s), msg);
  return 1;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "cluster";
  const char *seed = argc > 2 ? argv[2] : "127.0.0.1:7000";
  slotwise_options *opts = NULL;
  slotwise_client *client = NULL;
  slotwise_reply *reply = NULL;
  slotwise_status s;

  printf("slotwise %s (header %s)\n", slotwise_version(), SLOTWISE_VERSION);
  if ((s = slotwise_options_new(&opts)) != SLOTWISE_STATUS_OK) return fail("options", s);
  if ((s = slotwise_options_add_seed(opts, (const uint8_t *)seed, strlen(seed))) != SLOTWISE_STATUS_OK) {
    slotwise_options_free(opts);
    return fail("seed", s);
  }
  s = strcmp(mode, "standalone") == 0 ? slotwise_client_standalone(opts, &client)
                                      : slotwise_client_cluster(opts, &client);
  slotwise_options_free(opts); /* the client keeps its own copy */
  if (s != SLOTWISE_STATUS_OK) return fail("connect", s);

  const uint8_t *set[3] = {(const uint8_t *)"SET", (const uint8_t *)"greeting", (const uint8_t *)"hello from C"};
  const size_t set_len[3] = {3, 8, 12};
  if ((s = slotwise_command(client, 3, set, set_len, &reply)) != SLOTWISE_STATUS_OK) {
    slotwise_client_free(client);
    return fail("SET", s);
  }
  slotwise_reply_free(reply);

  const uint8_t *get[2] = {(const uint8_t *)"GET", (const uint8_t *)"greeting"};
  const size_t get_len[2] = {3, 8};
  if ((s = slotwise_command(client, 2, get, get_len, &reply)) != SLOTWISE_STATUS_OK) {
    slotwise_client_free(client);
    return fail("GET", s);
  }
  const uint8_t *value = NULL;
  size_t value_len = 0;
  if (slotwise_reply_get_bytes(reply, &value, &value_len) == SLOTWISE_STATUS_OK) {
    printf("greeting = %.*s\n", (int)value_len, (const char *)value);
  }
  slotwise_reply_free(reply);
  slotwise_client_free(client);
  return 0;
}
