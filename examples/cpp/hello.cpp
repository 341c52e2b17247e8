// slotwise from C++: the C header as is (it has extern "C" guards), handles owned by
// std::unique_ptr with the matching _free function, failures turned into exceptions.
//
//   g++ -std=c++17 hello.cpp $(pkg-config --cflags --libs slotwise) -o hello
//   ./hello 127.0.0.1:7000
#include <slotwise.h>

#include <cstring>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct OptionsFree { void operator()(slotwise_options *o) const { slotwise_options_free(o); } };
struct ClientFree { void operator()(slotwise_client *c) const { slotwise_client_free(c); } };
struct ReplyFree { void operator()(slotwise_reply *r) const { slotwise_reply_free(r); } };
using Options = std::unique_ptr<slotwise_options, OptionsFree>;
using Client = std::unique_ptr<slotwise_client, ClientFree>;
using Reply = std::unique_ptr<slotwise_reply, ReplyFree>;

void check(slotwise_status s, const char *what) {
  if (s == SLOTWISE_STATUS_OK) return;
  char msg[512];
  slotwise_last_error_message(msg, sizeof msg, nullptr);
  throw std::runtime_error(std::string(what) + ": " + slotwise_status_name(s) + ": " + msg);
}

const uint8_t *bytes(std::string_view s) { return reinterpret_cast<const uint8_t *>(s.data()); }

Reply command(const Client &client, const std::vector<std::string_view> &args) {
  std::vector<const uint8_t *> argv;
  std::vector<size_t> lens;
  for (auto a : args) {
    argv.push_back(bytes(a));
    lens.push_back(a.size());
  }
  slotwise_reply *reply = nullptr;
  check(slotwise_command(client.get(), argv.size(), argv.data(), lens.data(), &reply), "command");
  return Reply(reply);
}

std::string text(const Reply &reply) {
  const uint8_t *p = nullptr;
  size_t n = 0;
  check(slotwise_reply_get_bytes(reply.get(), &p, &n), "reply");
  return std::string(reinterpret_cast<const char *>(p), n);
}

}  // namespace

int main(int argc, char **argv) {
  std::string_view seed = argc > 1 ? argv[1] : "127.0.0.1:7000";
  try {
    slotwise_options *o = nullptr;
    check(slotwise_options_new(&o), "options");
    Options opts(o);
    check(slotwise_options_add_seed(opts.get(), bytes(seed), seed.size()), "seed");
    slotwise_client *c = nullptr;
    check(slotwise_client_cluster(opts.get(), &c), "connect");
    Client client(c);
    command(client, {"SET", "greeting", "hello from C++"});
    std::cout << "greeting = " << text(command(client, {"GET", "greeting"})) << "\n";
  } catch (const std::exception &e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  return 0;
}
