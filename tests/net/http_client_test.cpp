#include "roster/net/http_client.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <thread>
#include <vector>

#include "roster/net/socket.hpp"
#include "net_test_support.hpp"

namespace roster::net {
namespace {

using namespace testing;

// A hand-rolled server thread. It serves `connections` in turn: on each it reads a request head
// and answers the next reply byte for byte, then closes. An empty reply means: read the request
// and close without a word (as a server whose idle timeout fires just then does).
class ScriptedServer {
 public:
  using Replies = std::vector<std::vector<std::string>>;  // per connection
  explicit ScriptedServer(std::string reply) : ScriptedServer(Replies{{std::move(reply)}}) {}
  explicit ScriptedServer(Replies connections)
      : listen_fd_(listen_tcp("127.0.0.1", 0).value()) {
    set_nonblocking(listen_fd_, false);
    port_ = local_port(listen_fd_);
    thread_ = std::thread([this, connections = std::move(connections)] {
      for (const auto& replies : connections) {
        pollfd p{listen_fd_, POLLIN, 0};
        if (::poll(&p, 1, 5000) != 1) return;  // the client never came: fail rather than hang
        int fd = ::accept(listen_fd_, nullptr, nullptr);
        if (fd < 0) return;
        try {
          for (const auto& reply : replies) {
            std::string request;
            while (request.find("\r\n\r\n") == std::string::npos) {
              std::string chunk = read_some(fd);
              if (chunk.empty()) break;
              request += chunk;
            }
            if (reply.empty()) break;
            write_all(fd, reply);
          }
        } catch (...) {
        }
        ::close(fd);
      }
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

Error expect_failure(HttpClient& client, std::chrono::milliseconds timeout = 2s) {
  auto response = client.request("GET", "/x", {}, {}, timeout);
  if (response) {
    ADD_FAILURE() << "the request succeeded";
    return {};
  }
  return response.error();
}

TEST(HttpClient, RefusedConnectionNamesTheAddress) {
  int probe = listen_tcp("127.0.0.1", 0).value();
  std::string address = "127.0.0.1:" + std::to_string(local_port(probe));
  ::close(probe);
  auto client = HttpClient::open("http://" + address + "/").value();
  auto e = expect_failure(client);
  EXPECT_EQ(e.kind, ErrorKind::Unavailable);
  EXPECT_EQ(e.code, "connect_failed");
  EXPECT_EQ(e.message, "connect to " + address + ": Connection refused");
}

TEST(HttpClient, TimesOutWhenTheServerNeverAnswers) {
  // Listening but never accepting: the kernel completes the handshake, nobody answers.
  Fd listener(listen_tcp("127.0.0.1", 0).value());
  std::string address = "127.0.0.1:" + std::to_string(local_port(listener));
  auto client = HttpClient::open(address).value();
  auto t0 = std::chrono::steady_clock::now();
  auto e = expect_failure(client, 200ms);
  auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(e.kind, ErrorKind::Unavailable);
  EXPECT_EQ(e.code, "timed_out");
  EXPECT_TRUE(e.message.starts_with("GET /x to " + address + " timed out after 200 ms")) << e.message;
  EXPECT_GE(elapsed, 200ms);
  EXPECT_LT(elapsed, 1s);
  EXPECT_FALSE(client.connected());
}

TEST(HttpClient, ReportsAMalformedResponse) {
  ScriptedServer server("NOT HTTP AT ALL\r\n\r\n");
  auto client = HttpClient::open(server.address()).value();
  auto e = expect_failure(client);
  EXPECT_EQ(e.code, "malformed_response");
  EXPECT_TRUE(e.message.starts_with("malformed response from " + server.address() + " to GET /x: ")) << e.message;
}

TEST(HttpClient, ReportsAResponseCutShort) {
  ScriptedServer server("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
  auto client = HttpClient::open(server.address()).value();
  auto e = expect_failure(client);
  EXPECT_EQ(e.code, "connection_closed");
  EXPECT_TRUE(e.message.starts_with(server.address() + " closed the connection before a complete response to GET /x"))
      << e.message;
  EXPECT_FALSE(client.connected());
}

TEST(HttpClient, ReadsABodyThatEndsAtEof) {
  ScriptedServer server("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end");
  auto client = HttpClient::open(server.address()).value();
  auto r = client.get("/x").value();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/plain");
  EXPECT_EQ(r.body, "until the end");
  EXPECT_FALSE(client.connected());
}

TEST(HttpClient, ResendsAnIdempotentRequestOnceWhenAReusedConnectionClosesUnanswered) {
  ScriptedServer server(ScriptedServer::Replies{{"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none", ""},
                                                {"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\ntwo"}});
  auto client = HttpClient::open(server.address()).value();
  EXPECT_EQ(client.get("/one")->body, "one");
  EXPECT_EQ(client.get("/two")->body, "two");  // closed unanswered on the first connection
  EXPECT_EQ(client.connections_opened(), 2u);
}

TEST(HttpClient, DoesNotResendAPost) {
  ScriptedServer server(ScriptedServer::Replies{{"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none", ""}});
  auto client = HttpClient::open(server.address()).value();
  EXPECT_EQ(client.get("/one")->body, "one");
  auto e = client.request("POST", "/two", "{}");
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code, "connection_closed");
  EXPECT_EQ(client.connections_opened(), 1u);
}

TEST(HttpClient, RejectsBadAddressesAndRequests) {
  auto bad_address = [](std::string_view address) {
    auto client = HttpClient::open(address);
    return client ? "opened" : client.error().code + ": " + client.error().message;
  };
  EXPECT_EQ(bad_address("https://127.0.0.1:7000"),
            "invalid_address: server address \"https://127.0.0.1:7000\": https is not supported");
  EXPECT_EQ(bad_address("127.0.0.1"),
            "invalid_address: invalid address \"127.0.0.1\": expected HOST:PORT or unix:PATH");
  EXPECT_EQ(bad_address("http://127.0.0.1:7000/v1"),
            "invalid_address: server address \"http://127.0.0.1:7000/v1\": a path is not supported");

  auto client = HttpClient::open("127.0.0.1:1").value();
  auto bad_request = [&](std::string_view method, std::string_view target, const HttpHeaders& headers = {}) {
    auto response = client.request(method, target, {}, headers);
    return response ? "sent" : response.error().code;
  };
  EXPECT_EQ(bad_request("GET", "no-slash"), "invalid_request");
  EXPECT_EQ(bad_request("GET", "/with space"), "invalid_request");
  EXPECT_EQ(bad_request("BAD METHOD", "/"), "invalid_request");
  HttpHeaders injected;
  injected.add("X-A", "1\r\nX-B: 2");
  EXPECT_EQ(bad_request("GET", "/", injected), "invalid_request");
  EXPECT_EQ(client.connections_opened(), 0u);  // refused before anything went out
}

}  // namespace
}  // namespace roster::net
