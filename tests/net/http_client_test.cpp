#include "roster/net/http_client.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <thread>

#include "roster/net/socket.hpp"
#include "net_test_support.hpp"

namespace roster::net {
namespace {

using namespace testing;

// A hand-rolled server thread: accepts one connection, reads the request head, answers `reply`
// byte for byte, then closes.
class ScriptedServer {
 public:
  explicit ScriptedServer(std::string reply) : listen_fd_(listen_tcp("127.0.0.1", 0)) {
    set_nonblocking(listen_fd_, false);
    port_ = local_port(listen_fd_);
    thread_ = std::thread([this, reply = std::move(reply)] {
      int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) return;
      std::string request;
      try {
        while (request.find("\r\n\r\n") == std::string::npos) {
          std::string chunk = read_some(fd);
          if (chunk.empty()) break;
          request += chunk;
        }
        write_all(fd, reply);
      } catch (...) {
      }
      ::close(fd);
    });
  }
  ~ScriptedServer() {
    thread_.join();
    ::close(listen_fd_);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int listen_fd_;
  uint16_t port_;
  std::thread thread_;
};

std::system_error expect_failure(HttpClient& client, std::chrono::milliseconds timeout = 2s) {
  try {
    client.request("GET", "/x", {}, {}, timeout);
  } catch (const std::system_error& e) {
    return e;
  }
  ADD_FAILURE() << "the request succeeded";
  return std::system_error(std::error_code());
}

TEST(HttpClient, RefusedConnectionNamesTheAddress) {
  int probe = listen_tcp("127.0.0.1", 0);
  std::string address = "127.0.0.1:" + std::to_string(local_port(probe));
  ::close(probe);
  HttpClient client("http://" + address + "/");
  auto e = expect_failure(client);
  EXPECT_EQ(e.code().value(), ECONNREFUSED);
  EXPECT_EQ(std::string(e.what()), "connect to " + address + ": Connection refused");
}

TEST(HttpClient, TimesOutWhenTheServerNeverAnswers) {
  // Listening but never accepting: the kernel completes the handshake, nobody answers.
  Fd listener(listen_tcp("127.0.0.1", 0));
  std::string address = "127.0.0.1:" + std::to_string(local_port(listener));
  HttpClient client(address);
  auto t0 = std::chrono::steady_clock::now();
  auto e = expect_failure(client, 200ms);
  auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(e.code().value(), ETIMEDOUT);
  EXPECT_TRUE(std::string(e.what()).starts_with("GET /x to " + address + " timed out after 200 ms")) << e.what();
  EXPECT_GE(elapsed, 200ms);
  EXPECT_LT(elapsed, 1s);
  EXPECT_FALSE(client.connected());
}

TEST(HttpClient, ReportsAMalformedResponse) {
  ScriptedServer server("NOT HTTP AT ALL\r\n\r\n");
  HttpClient client(server.address());
  auto e = expect_failure(client);
  EXPECT_EQ(e.code().value(), EPROTO);
  EXPECT_NE(std::string(e.what()).find("malformed response from " + server.address() + " to GET /x"), std::string::npos)
      << e.what();
}

TEST(HttpClient, ReportsAResponseCutShort) {
  ScriptedServer server("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
  HttpClient client(server.address());
  auto e = expect_failure(client);
  EXPECT_EQ(e.code().value(), ECONNRESET);
  EXPECT_NE(std::string(e.what()).find("closed the connection before a complete response"), std::string::npos)
      << e.what();
}

TEST(HttpClient, ReadsABodyThatEndsAtEof) {
  ScriptedServer server("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end");
  HttpClient client(server.address());
  auto r = client.get("/x");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/plain");
  EXPECT_EQ(r.body, "until the end");
  EXPECT_FALSE(client.connected());
}

TEST(HttpClient, RejectsBadAddressesAndRequests) {
  EXPECT_THROW(HttpClient("https://127.0.0.1:7000"), std::invalid_argument);
  EXPECT_THROW(HttpClient("127.0.0.1"), std::invalid_argument);
  EXPECT_THROW(HttpClient("http://127.0.0.1:7000/v1"), std::invalid_argument);
  HttpClient client("127.0.0.1:1");
  EXPECT_THROW(client.request("GET", "no-slash"), std::invalid_argument);
  EXPECT_THROW(client.request("GET", "/with space"), std::invalid_argument);
  EXPECT_THROW(client.request("BAD METHOD", "/"), std::invalid_argument);
  HttpHeaders injected;
  injected.add("X-A", "1\r\nX-B: 2");
  EXPECT_THROW(client.request("GET", "/", {}, injected), std::invalid_argument);
}

}  // namespace
}  // namespace roster::net
