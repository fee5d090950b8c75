// A small blocking HTTP/1.1 client for rosterctl and tests: one connection, reused across
// requests (keep-alive), responses parsed by Boost.Beast's response parser. Not thread-safe.
//
// Every failure throws std::system_error whose message names the server and what went wrong:
//   "connect to 127.0.0.1:7000: Connection refused"                       (ECONNREFUSED)
//   "GET /v1/revision to 127.0.0.1:7000 timed out after 200 ms"          (ETIMEDOUT)
//   "malformed response from 127.0.0.1:7000: bad version"                (EPROTO)
//   "127.0.0.1:7000 closed the connection before a complete response"    (ECONNRESET)
// An HTTP error status is not an exception: it comes back in HttpResponse::status.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "roster/net/http_message.hpp"
#include "roster/net/socket.hpp"

namespace roster::net {

struct HttpClientOptions {
  std::chrono::milliseconds connect_timeout{5'000};
  size_t max_response_body_bytes = 256 * 1024 * 1024;
};

class HttpClient {
 public:
  // "127.0.0.1:7000", "http://127.0.0.1:7000", "localhost:7000" or "unix:/run/roster.sock".
  // Throws std::invalid_argument for a malformed address (https is not supported).
  explicit HttpClient(std::string_view address, HttpClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends one request and waits for its response; `timeout` bounds the whole exchange,
  // connecting included. A non-empty body gets Content-Type: application/json unless `headers`
  // says otherwise. A reused connection the server closed meanwhile is reopened, and the
  // request retried once when it is idempotent (not POST or PATCH) and nothing was received.
  HttpResponse request(std::string_view method, std::string_view target, std::string_view body = {},
                       const HttpHeaders& headers = {},
                       std::chrono::milliseconds timeout = std::chrono::seconds(10));
  HttpResponse get(std::string_view target, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    return request("GET", target, {}, {}, timeout);
  }

  void close();
  bool connected() const { return fd_ >= 0; }
  const std::string& address() const { return name_; }
  // Connections opened so far (keep-alive reuse keeps this at 1).
  size_t connections_opened() const { return connections_opened_; }

 private:
  struct Attempt;
  HttpResponse attempt(Attempt& a);
  void connect(std::chrono::steady_clock::time_point deadline, const Attempt& a);
  void send_request(const std::string& bytes, Attempt& a);
  HttpResponse read_response(Attempt& a);
  bool peer_closed() const;

  SocketAddress address_;
  std::string name_;
  std::string host_header_;
  HttpClientOptions options_;
  int fd_ = -1;
  size_t connections_opened_ = 0;
};

}  // namespace roster::net
