/*
 * TLS and credential rotation through the C API against a real TLS-only server (client
 * certificates required) with an ACL user, both made by the harness (tests/c/run.py).
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"

static slotwise_options *tls_options(const char *addr, const char *ca, const char *cert, const char *key,
                                     const char *password) {
  slotwise_options *o = options_with_seeds(addr);
  CHECK_STATUS(slotwise_options_set_tls_ca_file(o, (const uint8_t *)ca, strlen(ca)), SLOTWISE_STATUS_OK);
  CHECK_STATUS(slotwise_options_set_tls_client_cert(o, (const uint8_t *)cert, strlen(cert), (const uint8_t *)key,
                                                    strlen(key)),
               SLOTWISE_STATUS_OK);
  CHECK_STATUS(slotwise_options_set_auth(o, (const uint8_t *)"app", 3, (const uint8_t *)password, strlen(password)),
               SLOTWISE_STATUS_OK);
  CHECK_STATUS(slotwise_options_set_connect_timeout_ms(o, slow ? 10000 : 3000), SLOTWISE_STATUS_OK);
  return o;
}

void test_tls(const char *addr, const char *ca, const char *untrusted_ca, const char *cert, const char *key,
              const char *password, const char *kill_cmd) {
  const char *new_password = "c-New-Pw-41";
  slotwise_client *c = NULL;
  slotwise_reply *r = NULL;

  /* Verified TLS with a client certificate. */
  slotwise_options *o = tls_options(addr, ca, cert, key, password);
  CHECK_STATUS(slotwise_client_standalone(o, &c), SLOTWISE_STATUS_OK);
  slotwise_options_free(o);
  if (!c) return;
  CHECK_STATUS(RUN(c, &r, "PING"), SLOTWISE_STATUS_OK);
  CHECK(bytes_eq(r, "PONG"));
  slotwise_reply_free(r);

  /* Rotation: add the new password, switch the client, drop the old one, cut every
   * connection of the user (ours too, with redis-cli: CLIENT is refused on a shared
   * connection); the next command reconnects with the new one. */
  char add[64], del[64];
  snprintf(add, sizeof add, ">%s", new_password);
  snprintf(del, sizeof del, "<%s", password);
  CHECK_STATUS(RUN(c, &r, "ACL", "SETUSER", "app", add), SLOTWISE_STATUS_OK);
  slotwise_reply_free(r);
  CHECK_STATUS(slotwise_client_update_credentials(c, (const uint8_t *)"app", 3, (const uint8_t *)new_password,
                                                  strlen(new_password)),
               SLOTWISE_STATUS_OK);
  CHECK_STATUS(RUN(c, &r, "ACL", "SETUSER", "app", del), SLOTWISE_STATUS_OK);
  slotwise_reply_free(r);
  CHECK(kill_cmd && system(kill_cmd) == 0);
  CHECK_STATUS(RUN(c, &r, "PING"), SLOTWISE_STATUS_OK);
  slotwise_reply_free(r);
  /* Put the old password back for the checks below. */
  snprintf(add, sizeof add, ">%s", password);
  CHECK_STATUS(RUN(c, &r, "ACL", "SETUSER", "app", add), SLOTWISE_STATUS_OK);
  slotwise_reply_free(r);
  CHECK_STATUS(slotwise_client_close(c), SLOTWISE_STATUS_OK);
  CHECK_STATUS(slotwise_client_update_credentials(c, NULL, 0, (const uint8_t *)"x", 1), SLOTWISE_STATUS_CLOSED);
  CHECK_STATUS(slotwise_client_update_credentials(NULL, NULL, 0, (const uint8_t *)"x", 1),
               SLOTWISE_STATUS_NULL_ARGUMENT);
  slotwise_client_free(c);

  /* An untrusted CA fails clearly, without the password in the message. */
  c = NULL;
  o = tls_options(addr, untrusted_ca, cert, key, password);
  CHECK_STATUS(slotwise_client_standalone(o, &c), SLOTWISE_STATUS_CONNECT);
  CHECK(c == NULL);
  CHECK(strstr(last_error(), "certificate") != NULL);
  CHECK(strstr(last_error(), password) == NULL);
  /* The loudly named escape hatch accepts it. */
  CHECK_STATUS(slotwise_options_set_tls_insecure_skip_verify(o, true), SLOTWISE_STATUS_OK);
  CHECK_STATUS(slotwise_client_standalone(o, &c), SLOTWISE_STATUS_OK);
  slotwise_client_free(c);
  /* A name the certificate does not carry. */
  c = NULL;
  CHECK_STATUS(slotwise_options_set_tls_insecure_skip_verify(o, false), SLOTWISE_STATUS_OK);
  CHECK_STATUS(slotwise_options_set_tls_ca_file(o, (const uint8_t *)ca, strlen(ca)), SLOTWISE_STATUS_OK);
  CHECK_STATUS(slotwise_options_set_tls_server_name(o, (const uint8_t *)"wrong.invalid", 13), SLOTWISE_STATUS_OK);
  CHECK_STATUS(slotwise_client_standalone(o, &c), SLOTWISE_STATUS_CONNECT);
  CHECK(strstr(last_error(), "not valid for name") != NULL);
  /* A missing CA file is reported by the constructor, naming the option. */
  CHECK_STATUS(slotwise_options_set_tls_ca_file(o, (const uint8_t *)"/nonexistent", 12), SLOTWISE_STATUS_OK);
  CHECK_STATUS(slotwise_client_standalone(o, &c), SLOTWISE_STATUS_INVALID_ARGUMENT);
  CHECK(strstr(last_error(), "ca_file") != NULL);
  CHECK_STATUS(slotwise_options_enable_tls(NULL), SLOTWISE_STATUS_NULL_ARGUMENT);
  slotwise_options_free(o);
}
